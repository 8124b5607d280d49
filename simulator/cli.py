"""``lakehouse simulate``: write a simulated marketplace into the landing zone."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulator.generate import SimulatorError, generate
from simulator.world import SCALES


@click.command("simulate")
@click.option("--scale", type=click.Choice(list(SCALES)), default="tiny", show_default=True, help="World size.")
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same files (byte for byte).")
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (default: the world ends yesterday, relative to the as-of time).",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=None,
    help="Number of days (default: the scale's; with --next-day: 1).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Landing root (default: LAKEHOUSE_HOME/landing).",
)
@click.option("--next-day", "next_day", is_flag=True, help="Append the next day(s) to the existing world in --out.")
@click.option(
    "--defect-rate",
    type=click.FloatRange(0, 0.2),
    default=0.005,
    show_default=True,
    help="Share of records damaged on purpose.",
)
@click.option(
    "--effect-scale",
    type=click.FloatRange(0.1, 20),
    default=1.0,
    show_default=True,
    help="Multiplies every channel's planted conversion effect (exaggerate for tiny attribution tests).",
)
def simulate(
    scale: str,
    seed: int,
    start,
    days: int | None,
    out: Path | None,
    next_day: bool,
    defect_rate: float,
    effect_scale: float,
) -> None:
    """Simulate the marketplace's source systems and drop their files into the landing zone."""
    from lakehouse.settings import get_settings

    settings = get_settings()
    out = out or settings.paths.landing
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)  # full table in logs too
    yesterday = settings.now().date() - timedelta(days=1)
    first: date | None = start.date() if start else None
    label = "next day" if next_day else f"{scale} world"
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[day]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(
            f"simulating {label}", total=days or (1 if next_day else SCALES[scale].default_days), day=""
        )

        def progress(done: int, total: int, day: date, n_files: int) -> None:
            bar.update(task, completed=done, total=total, day=f"{day.isoformat()} ({n_files} files)")

        try:
            summary = generate(
                out,
                scale=scale,
                seed=seed,
                start=first,
                days=days,
                defect_rate=defect_rate,
                effect_scale=effect_scale,
                next_day=next_day,
                end=yesterday,
                progress=progress,
            )
        except SimulatorError as exc:
            raise click.ClickException(str(exc)) from None
    if summary.end > yesterday:
        console.print(f"[yellow]note: the world now reaches {summary.end}, after yesterday ({yesterday})[/]")
    table = Table(title=f"Landing zone {out} ({summary.start} .. {summary.end})")
    for col in ("feed", "files", "records", "defects planted"):
        table.add_column(col, justify="left" if col == "feed" else "right")
    for feed in sorted(summary.files):
        table.add_row(
            feed, f"{summary.files[feed]:,}", f"{summary.records[feed]:,}", f"{summary.defects.get(feed, 0):,}"
        )
    table.add_row(
        "[bold]total",
        f"{sum(summary.files.values()):,}",
        f"{sum(summary.records.values()):,}",
        f"{sum(summary.defects.values()):,}",
    )
    console.print(table)
    console.print(
        f"{len(summary.days_generated)} day(s), {summary.orders:,} orders, {summary.events:,} events in "
        f"{summary.seconds:.1f}s; ground truth: {out / '_simulator' / 'ground_truth.json'}"
    )
