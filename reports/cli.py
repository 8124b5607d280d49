"""``lakehouse reports``, ``lakehouse smtp`` and ``lakehouse insights``."""

from __future__ import annotations

import sys

import click


@click.group()
def reports() -> None:
    """Seller reports: render and send by email (HTML with charts, PDF and CSV attached)."""


@reports.command("send")
@click.option("--seller", "sellers", multiple=True, help="Only this seller id (repeatable; default: all active).")
@click.option("--period", type=click.Choice(["week", "month", "day"]), default="week", show_default=True)
@click.option("--dry-run", is_flag=True, help="Render into LAKEHOUSE_HOME/reports/out; send and log nothing.")
@click.option("--force", is_flag=True, help="Send again even if this seller and period were already delivered.")
@click.option("--digest", is_flag=True, help="Also send the executive weekly digest to the admin address.")
def send(sellers: tuple[str, ...], period: str, dry_run: bool, force: bool, digest: bool) -> None:
    """Render and mail each seller's report for its last complete period (in the seller's time zone).

    \b
    Examples:
      lakehouse smtp up && lakehouse reports send
      lakehouse reports send --seller S100002 --period month --force
      lakehouse reports send --dry-run        # files in LAKEHOUSE_HOME/reports/out
    A failed send is retried with backoff, logged in LAKEHOUSE_HOME/reports/delivery_log (Delta), mailed to
    LAKEHOUSE_ADMIN_EMAIL, and makes the command exit 1. Free plans get weekly reports, pro adds monthly,
    enterprise adds daily.
    """
    from lakehouse.cli import console, err_console
    from reports.deliver import DeliveryError, send_reports

    try:
        results = send_reports(
            period,
            list(sellers) or None,
            dry_run=dry_run,
            force=force,
            echo=lambda line: console.print(line, markup=False),
        )
    except (DeliveryError, FileNotFoundError, ValueError) as exc:
        err_console.print(str(exc), style="red", markup=False)
        sys.exit(1)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    console.print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no sellers")
    if digest and not dry_run:
        from reports.digest import send_digest

        console.print(f"digest sent to {send_digest()}")


@click.group()
def smtp() -> None:
    """The local SMTP server (127.0.0.1, LAKEHOUSE_SMTP_PORT) that stores mail under LAKEHOUSE_HOME/mail/."""


@smtp.command("up")
def smtp_up() -> None:
    """Start the local SMTP server in the background (idempotent)."""
    from lakehouse.cli import console
    from lakehouse.settings import get_settings
    from reports.smtp_server import up

    s = get_settings()
    try:
        pid = up(s)
    except RuntimeError as exc:
        console.print(f"[red]{exc}")
        sys.exit(1)
    console.print(f"smtp up on 127.0.0.1:{s.smtp_port} (pid {pid}); mail is stored in {s.paths.mail}")


@smtp.command("down")
def smtp_down() -> None:
    """Stop the local SMTP server."""
    from lakehouse.cli import console
    from lakehouse.services import stop_service

    console.print("smtp stopped" if stop_service("smtp") else "smtp was not running")


@click.command()
@click.option("--master", help="Spark master (default: LAKEHOUSE_SPARK_MASTER).")
def insights(master: str | None) -> None:
    """Run the seller insights Spark job (gold layer) on the current silver tables.

    Same as `lakehouse build --layer gold --select insights`: writes lake/gold/seller_*; then
    `lakehouse check --layer gold`, `lakehouse build --layer marts` and `lakehouse publish` make them visible.
    """
    from lakehouse.cli import _fail, console
    from lakehouse.warehouse import GoldJobError, build

    try:
        result = build("gold", select=["insights"], master=master)
    except (GoldJobError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"[green]insights built[/green] in {result.seconds:.1f}s")
