"""
### Seller reports

Hourly, and after every publish (the warehouse Asset). The hourly run picks the sellers whose local time is
09:00 and whose report is due — enterprise daily, everyone weekly on Monday, pro and enterprise monthly on the
1st, each in the seller's own time zone — and renders and mails their reports in mapped batches of 25 (HTML
with charts, PDF and CSV attached), then the executive weekly digest on Mondays at 09:00 in the reporting time
zone. A run triggered by a publish sends what is overdue: each seller's
latest period whose 09:00 send time has passed (already-delivered ones are skipped), so reports held back by a
failed build go out with the next good publish.

Only from a successfully published warehouse: `check_published` skips the run before the first publish and fails
it when the published warehouse's quality status is not `pass` or `warn`. A seller and period already delivered
is not sent again (the delivery log); a failed delivery is retried with backoff, mailed to the admin address and
fails its batch task. Same from a shell:
`lakehouse reports send --period week [--seller S]`. Logic lives in `reports/`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from ingestion.catalog import asset_uri
from lakehouse.dag_policy import default_args

DEFAULT_ARGS = default_args(retries=1, retry_delay=timedelta(minutes=5), timeout=timedelta(minutes=30))
WAREHOUSE_ASSET = Asset(asset_uri("warehouse", "marts"))  # updated by build_warehouse's publish


def _hour(data_interval_end, logical_date) -> datetime:
    return data_interval_end or logical_date or datetime.now(UTC)


@task
def check_published() -> str:
    """The published warehouse exists (else the run is skipped) and passed its quality gate."""
    from airflow.sdk.exceptions import AirflowSkipException

    from lakehouse.warehouse import files
    from reports.schedule import require_published

    if not files().manifest.exists():
        raise AirflowSkipException("no warehouse published yet: nothing to report")
    return str(require_published()["published_at"])


@task
def due_batches(published_at: str, data_interval_end=None, logical_date=None) -> list[dict]:
    """Batches ``{"period", "sellers"}`` due in this hour; after a publish, every overdue one."""
    from lakehouse.settings import get_settings
    from reports.schedule import due_now

    run_type = get_current_context()["dag_run"].run_type
    after_publish = getattr(run_type, "value", run_type) != "scheduled"  # a publish's Asset event, or by hand
    if after_publish:
        batches = due_now(get_settings().now(), overdue=True)
    else:
        batches = due_now(_hour(data_interval_end, logical_date))
    kind = "overdue (after a publish or by hand)" if after_publish else "due this hour"
    print(f"warehouse published {published_at}: {len(batches)} batch(es) {kind}")
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
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 * * * *", timezone="UTC"), assets=[WAREHOUSE_ASSET]),
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
