"""``lakehouse ingest``: landing -> bronze, the same code the ingestion DAG runs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def _date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def summary_table(summaries) -> Table:
    table = Table(
        "feed",
        "files",
        "skipped",
        "rows",
        "accepted",
        "quarantined",
        "duplicates",
        "flagged",
        "failed",
        "seconds",
        title="ingest summary",
    )
    for s in summaries:
        table.add_row(
            s.feed,
            *(
                f"{v:,}"
                for v in (s.files, s.skipped, s.rows, s.accepted, s.quarantined, s.duplicates, s.flagged, s.failed)
            ),
            f"{s.seconds:.1f}",
            style="red" if s.failed else None,
        )
    return table


@click.command()
@click.option("--feed", "feeds", multiple=True, help="Only this feed (repeatable). Default: all.")
@click.option("--since", callback=_date, help="Only landing partitions dt >= this date.")
@click.option("--until", callback=_date, help="Only landing partitions dt <= this date.")
@click.option(
    "--force",
    "force",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Re-ingest this file even if its checksum is in the ledger (idempotent on keys).",
)
@click.option(
    "--replay-quarantine",
    is_flag=True,
    help="Re-validate quarantined records under the current contracts; move those that pass.",
)
@click.option("--rule", help="With --replay-quarantine: only records quarantined under this rule (or rule kind).")
def ingest(feeds, since, until, force, replay_quarantine, rule) -> None:
    """Load landing files into bronze Delta tables with contracts, quarantine and a ledger.

    \b
    Examples:
      lakehouse ingest                                 # every feed, every new file
      lakehouse ingest --feed orders --since 2026-06-01
      lakehouse ingest --replay-quarantine --feed ad_spend --rule accepted:currency
    Exits 1 if any file failed (what was accepted is kept).
    """
    from ingestion import run

    try:
        run.select(list(feeds))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--feed") from None
    if replay_quarantine:
        summaries = run.replay(list(feeds), rule=rule)
        console.print(summary_table(summaries))
        return
    if rule:
        raise click.UsageError("--rule goes with --replay-quarantine")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_batch(feed: str, done: int, total: int) -> None:
            if feed not in tasks:
                tasks[feed] = progress.add_task(f"{feed} batches", total=total)
            progress.update(tasks[feed], completed=done)

        summaries = run.ingest(list(feeds), since=since, until=until, force=tuple(force), on_batch=on_batch)
    console.print(summary_table(summaries))
    failures = [e for s in summaries for e in s.errors]
    if failures:
        console.print(f"[red]{len(failures)} file(s) failed:[/red]")
        for line in failures[:20]:
            console.print(f"  {line}")
        sys.exit(1)


@click.command("ingest-docs")
@click.option("--check", is_flag=True, help="Exit 1 if docs/bronze_tables.md is out of date instead of writing it.")
def ingest_docs(check: bool) -> None:
    """Regenerate docs/bronze_tables.md from the feed contracts."""
    from ingestion.docs import DOC_PATH, render
    from ingestion.feeds import FEEDS

    text = render(FEEDS)
    if check:
        if not DOC_PATH.exists() or DOC_PATH.read_text() != text:
            console.print(f"{DOC_PATH} is out of date: run `lakehouse ingest-docs`")
            sys.exit(1)
        console.print(f"{DOC_PATH} is up to date")
        return
    DOC_PATH.write_text(text)
    console.print(f"wrote {DOC_PATH}")
