"""
### Lake maintenance

Daily at 04:30 UTC, after the 03:00 warehouse build:

1. `optimize`: compact Delta tables with many small files (bronze, silver, gold, quarantine, the ledger, the
   report delivery log), each under its writers' lock (an ingest feed lock, or the warehouse writer lock);
2. `vacuum`: delete files removed from a table more than `LAKEHOUSE_DELTA_RETENTION_HOURS` (168) ago, keeping
   every version the publish, rollback and pending-build manifests recorded, under the warehouse writer lock;
3. `cleanup_landing`: delete landing files older than `LAKEHOUSE_LANDING_RETENTION_DAYS` (30, by event date and
   arrival) that the ingest ledger records as ingested or duplicate; unknown, changed, failed and wholly
   quarantined files stay;
4. `compact_ledger`: compact and checkpoint the ingest ledger (one small commit per ingest batch adds up).

A table whose writer stays busy (an ingest, a build) or whose commit conflicts fails its task, which retries
with backoff; what was done stays done. Each task logs its report (tables, files before/after, bytes freed,
files deleted). Same steps from a shell: `lakehouse maintain` (`--dry-run` to see what would go).
Logic lives in `lakehouse/maintenance.py`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, task

from lakehouse.dag_policy import default_args

LOCK_WAIT_SECONDS = 600  # an hourly ingest or a manual build may hold a lock for a while

DEFAULT_ARGS = default_args(retries=2, retry_delay=timedelta(minutes=5), timeout=timedelta(hours=1))


def _run(step: str) -> dict:
    from lakehouse.maintenance import maintain

    report = maintain([step], lock_wait_seconds=LOCK_WAIT_SECONDS, log=print)
    print(report.render())
    if not report.ok:
        raise RuntimeError(f"{step}: not done:\n" + "\n".join(report.problems))
    [result] = report.steps
    return {"step": step, "files_deleted": result.files_deleted, "bytes_freed": result.bytes_freed}


@task
def optimize() -> dict:
    """Compact small files of every lake table that has enough of them."""
    return _run("optimize")


@task
def vacuum() -> dict:
    """Delete files removed more than the retention ago (pinned warehouse versions kept)."""
    return _run("vacuum")


@task
def cleanup_landing() -> dict:
    """Delete old landing files the ingest ledger records as ingested."""
    return _run("landing")


@task
def compact_ledger() -> dict:
    """Compact and checkpoint the ingest ledger."""
    return _run("ledger")


@dag(
    dag_id="lake_maintenance",
    schedule=CronTriggerTimetable("30 4 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["maintenance", "delta"],
    doc_md=__doc__,
)
def lake_maintenance():
    optimize() >> vacuum()
    cleanup_landing()
    compact_ledger()


lake_maintenance()
