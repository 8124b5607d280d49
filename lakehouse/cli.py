"""The ``lakehouse`` command: one CLI for every stage (``lakehouse --help``).

Stage packages contribute their commands (``simulator.cli.simulate`` ...); this module wires them into one
group so Airflow, Make and people all run the same code.
"""

from __future__ import annotations

import importlib
import json
import sys

import click
from rich.console import Console
from rich.table import Table

from lakehouse import __version__
from lakehouse.settings import SettingsError, get_settings

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# (module, attribute) of click commands contributed by stage packages
STAGE_COMMANDS = (
    ("simulator.cli", "simulate"),
    ("ingestion.cli", "ingest"),
    ("ingestion.cli", "ingest_docs"),
)


class LakehouseGroup(click.Group):
    """Turns settings errors into one readable line and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            err_console.print(f"[red]configuration error:[/red] {exc}")
            sys.exit(2)


@click.group(cls=LakehouseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lakehouse")
def cli() -> None:
    """Local-first lakehouse for cross-border marketplaces: simulate, ingest, build, check, serve.

    State lives under LAKEHOUSE_HOME (default: var/ in the repository); see `lakehouse paths`.
    """


@cli.command()
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["spark", "ports", "system_packages", "superset_env"]),
    help="Skip a check (repeatable).",
)
def doctor(skip: tuple[str, ...]) -> None:
    """Check that this machine can run the platform: Python, Java, environments, DuckDB, Spark, ports, disk."""
    from lakehouse.doctor import run_checks

    settings = get_settings()
    failed = 0
    for check in run_checks(settings, skip=skip):
        status = "[green]PASS[/green]" if check.ok else "[red]FAIL[/red]"
        console.print(f"{status} {check.name:<22} {check.detail} [dim]({check.seconds:.1f}s)[/dim]")
        if not check.ok:
            failed += 1
            console.print(f"     [yellow]fix:[/yellow] {check.hint}")
    if failed:
        console.print(f"[red]{failed} check(s) failed[/red]")
        sys.exit(1)
    console.print("[green]all checks passed[/green]")


def _show(mapping: dict[str, str], headers: tuple[str, str], as_json: bool) -> None:
    """Print a name -> value mapping as JSON or as a two-column table."""
    if as_json:
        click.echo(json.dumps(mapping, indent=2))
        return
    table = Table(*headers, box=None)
    for key, value in mapping.items():
        table.add_row(key, value)
    console.print(table)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def paths(as_json: bool) -> None:
    """Show where everything lives (all under LAKEHOUSE_HOME)."""
    _show({k: str(v) for k, v in get_settings().paths.all().items()}, ("what", "path"), as_json)


@cli.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_settings(as_json: bool) -> None:
    """Show every setting with the environment variable that overrides it."""
    _show(get_settings().describe(), ("variable", "value"), as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (for scripts).")
def credentials(as_json: bool) -> None:
    """Show the logins generated for this LAKEHOUSE_HOME (stored with mode 600)."""
    from lakehouse.secrets import get_credentials

    settings = get_settings()
    creds = get_credentials(settings)
    logins = {
        "airflow": {
            "url": f"http://127.0.0.1:{settings.airflow_port}",
            "user": "admin",
            "password": creds["airflow_admin_password"],
        },
        "superset": {
            "url": f"http://127.0.0.1:{settings.superset_port}",
            "user": "admin",
            "password": creds["superset_admin_password"],
        },
    }
    if as_json:
        click.echo(json.dumps(logins, indent=2))
        return
    table = Table("service", "url", "user", "password", box=None)
    for name, login in logins.items():
        table.add_row(name, login["url"], login["user"], login["password"])
    console.print(table)
    console.print(f"[dim]stored in {settings.paths.credentials_file}[/dim]")


@cli.command()
def down() -> None:
    """Stop every service lakehouse started (by pid file)."""
    from lakehouse.services import running_services, stop_all

    before = running_services()
    stopped = stop_all()
    for name in stopped:
        console.print(f"stopped {name} (pid {before.get(name, '?')})")
    if not stopped:
        console.print("nothing running")


@cli.command()
@click.option(
    "--scale",
    type=click.Choice(["demo", "bench"]),
    default="demo",
    show_default=True,
    envvar="BENCH_SCALE",
    help="Data scale (BENCH_SCALE).",
)
@click.option("--only", multiple=True, help="Run only benchmarks whose name contains this (repeatable).")
@click.option("--repeats", default=3, show_default=True, help="Runs per timing (median reported).")
def bench(scale: str, only: tuple[str, ...], repeats: int) -> None:
    """Run benchmarks/ and write LAKEHOUSE_HOME/bench/results.{json,md}."""
    from benchmarks import harness

    report = harness.run(
        scale=scale, only=list(only), repeats=repeats, echo=lambda line: console.print(line, markup=False)
    )
    console.print(harness.to_markdown(report), markup=False)
    console.print(f"[dim]written to {get_settings().paths.bench}/results.md[/dim]")
    if report["errors"]:
        sys.exit(1)


def _register_stage_commands() -> None:
    for module_name, attr in STAGE_COMMANDS:
        cli.add_command(getattr(importlib.import_module(module_name), attr))


_register_stage_commands()


def main() -> None:
    cli(prog_name="lakehouse")


if __name__ == "__main__":
    main()
