"""
### Ingest landing feeds into bronze

Hourly: every feed's new landing files (by checksum, from the ingest ledger) are validated against the
feed's contract and committed to its bronze Delta table; rejected records go to `lake/quarantine/<feed>`.
Each task updates the Assets of the bronze tables it writes, which trigger the warehouse build.

**Backfill a range**: trigger with conf `{"since": "2026-06-01", "until": "2026-06-07"}` (landing
partitions `dt=` in that range; files already in the ledger are skipped), or from a shell:
`lakehouse ingest --since 2026-06-01 --until 2026-06-07`. Logic lives in `ingestion/`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from ingestion.catalog import FEED_TABLES, asset_uri

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(minutes=30),
}


@task
def ingest_feed(feed: str) -> dict:
    """Ingest one feed; fails (after recording what it accepted) if any file could not be read."""
    from datetime import date

    from ingestion.run import ingest

    conf = get_current_context()["dag_run"].conf or {}
    since = date.fromisoformat(conf["since"]) if conf.get("since") else None
    until = date.fromisoformat(conf["until"]) if conf.get("until") else None
    [summary] = ingest([feed], since=since, until=until, run_id=get_current_context()["run_id"])
    print(
        f"{feed}: {summary.files} files, {summary.rows} rows, {summary.accepted} accepted, "
        f"{summary.quarantined} quarantined, {summary.duplicates} duplicates, {summary.flagged} flagged, "
        f"{summary.failed} failed; Delta versions {summary.versions}"
    )
    if summary.failed:
        raise RuntimeError(f"{feed}: {summary.failed} file(s) failed:\n" + "\n".join(summary.errors[:20]))
    return {
        "feed": feed,
        "accepted": summary.accepted,
        "quarantined": summary.quarantined,
        "versions": summary.versions,
    }


@dag(
    dag_id="ingest_landing",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ingestion", "bronze"],
    doc_md=__doc__,
)
def ingest_landing():
    for feed, tables in FEED_TABLES.items():
        ingest_feed.override(task_id=f"ingest_{feed}", outlets=[Asset(asset_uri("bronze", t)) for t in tables])(feed)


ingest_landing()
