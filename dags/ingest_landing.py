"""
### Ingest landing feeds into bronze

Hourly: every feed's new landing files (by checksum, from the ingest ledger) are validated against the
feed's contract and committed to its bronze Delta table; rejected records go to `lake/quarantine/<feed>`.
Each task updates the Assets of the bronze tables it writes, which trigger the warehouse build; a feed with no
new file is *skipped* and updates nothing, so an idle hour builds nothing.

**Backfill a range**: `lakehouse backfill --since 2026-06-01 --until 2026-06-07` triggers this DAG with conf
`{"since": ..., "until": ..., "reprocess": true}`: every landing file dated (`dt=`) in the range is loaded again
(idempotent on the feed's keys) and the range rides on the Asset events, so the warehouse build widens its
rebuilt window to start there. Without `reprocess`, files already in the ledger are skipped. From a shell
without Airflow: `lakehouse ingest --since 2026-06-01 --until 2026-06-07`. A task that fails for good mails the
admin address. Logic lives in `ingestion/`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from ingestion.catalog import FEED_TABLES, asset_uri
from lakehouse.dag_policy import default_args

DEFAULT_ARGS = default_args(retries=2, retry_delay=timedelta(minutes=1), timeout=timedelta(minutes=30))


@task
def ingest_feed(feed: str) -> dict:
    """Ingest one feed; fails (after recording what it accepted) if any file could not be read; skipped (no Asset
    update) when there was no new file."""
    from datetime import date

    from airflow.sdk.exceptions import AirflowSkipException

    from ingestion.run import ingest

    context = get_current_context()
    conf = context["dag_run"].conf or {}
    since = date.fromisoformat(conf["since"]) if conf.get("since") else None
    until = date.fromisoformat(conf["until"]) if conf.get("until") else None
    reprocess = bool(conf.get("reprocess"))
    [summary] = ingest([feed], since=since, until=until, run_id=context["run_id"], reprocess=reprocess)
    print(
        f"{feed}: {summary.files} files, {summary.rows} rows, {summary.accepted} accepted, "
        f"{summary.quarantined} quarantined, {summary.duplicates} duplicates, {summary.flagged} flagged, "
        f"{summary.failed} failed; Delta versions {summary.versions}"
    )
    if summary.failed:
        raise RuntimeError(f"{feed}: {summary.failed} file(s) failed:\n" + "\n".join(summary.errors[:20]))
    if not summary.files:
        raise AirflowSkipException(f"{feed}: no new landing file ({summary.skipped} already ingested)")
    if since is not None:  # the warehouse build reads the range from the Asset events and widens its window
        for table in FEED_TABLES[feed]:
            context["outlet_events"][Asset(asset_uri("bronze", table))].extra = {
                "since": since.isoformat(),
                "until": (until or since).isoformat(),
            }
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
