"""
### Seller reports

Hourly. Picks the sellers whose local time is 09:00 and whose report is due — enterprise daily, everyone weekly
on Monday, pro and enterprise monthly on the 1st, each in the seller's own time zone — and renders and mails
their reports in mapped batches of 25 (HTML with charts, PDF and CSV attached), then the executive weekly digest
on Mondays at 09:00 in the reporting time zone.

Only from a successfully published warehouse: `check_published` fails the run when there is none or its quality
status is not `pass`. A seller and period already delivered is not sent again (the delivery log); a failed
delivery is retried with backoff, mailed to the admin address and fails its batch task. Same from a shell:
`lakehouse reports send --period week [--seller S]`. Logic lives in `reports/`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, task

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(minutes=30),
}


def _hour(data_interval_end, logical_date) -> datetime:
    return data_interval_end or logical_date or datetime.now(UTC)


@task
def check_published() -> str:
    """The published warehouse exists and passed its quality gate."""
    from reports.schedule import require_published

    return str(require_published()["published_at"])


@task
def due_batches(published_at: str, data_interval_end=None, logical_date=None) -> list[dict]:
    """Batches ``{"period", "sellers"}`` due in this hour."""
    from reports.schedule import due_now

    batches = due_now(_hour(data_interval_end, logical_date))
    print(f"warehouse published {published_at}: {len(batches)} batch(es) due")
    return batches


@task(max_active_tis_per_dag=2)
def send_batch(batch: dict) -> dict:
    """Render and send one batch; raises (failing the task) when a delivery failed."""
    from reports.deliver import send_reports

    results = send_reports(batch["period"], batch["sellers"], echo=print)
    return {"period": batch["period"], "statuses": sorted({r.status for r in results}), "sellers": len(results)}


@task
def send_digest(published_at: str, data_interval_end=None, logical_date=None) -> str:
    """The executive weekly digest, on Mondays at 09:00 in the reporting time zone."""
    from reports.digest import send_digest as send
    from reports.schedule import digest_due

    if not digest_due(_hour(data_interval_end, logical_date)):
        return "not due"
    return f"sent to {send()}"


@dag(
    dag_id="seller_reports",
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["reports", "sellers"],
    doc_md=__doc__,
)
def seller_reports():
    published = check_published()
    send_batch.expand(batch=due_batches(published))
    send_digest(published)


seller_reports()
