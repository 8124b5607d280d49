"""Entry points shared by the CLI and Airflow: ingest feeds, replay quarantine, describe contracts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from ingestion.loader import FeedSummary, Loader
from lakehouse.settings import Settings, get_settings


def feeds():
    from ingestion.feeds import FEEDS

    return FEEDS


def select(names: list[str] | tuple[str, ...] | None):
    available = feeds()
    if not names:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"unknown feed(s) {', '.join(unknown)}; known: {', '.join(available)}")
    return [available[n] for n in names]


def ingest(
    names: list[str] | tuple[str, ...] | None = None,
    since: date | None = None,
    until: date | None = None,
    force: tuple[Path, ...] = (),
    settings: Settings | None = None,
    run_id: str | None = None,
    on_batch: Callable[[str, int, int], None] | None = None,
    reprocess: bool = False,
) -> list[FeedSummary]:
    """Ingest every selected feed; never raises for a bad file (see each summary's ``failed``).

    ``reprocess`` (backfills) loads every file dated in ``since``..``until`` again, already ingested or not."""
    settings = settings or get_settings()
    settings.paths.ensure()
    summaries = []
    for feed in select(names):
        loader = Loader(feed, settings, run_id=run_id)
        callback = (lambda done, total, _f=feed.name: on_batch(_f, done, total)) if on_batch else None
        summaries.append(loader.run(since=since, until=until, force=force, on_batch=callback, reprocess=reprocess))
    return summaries


def replay(names=None, rule: str | None = None, settings: Settings | None = None) -> list[FeedSummary]:
    settings = settings or get_settings()
    return [Loader(feed, settings).replay_quarantine(rule) for feed in select(names)]
