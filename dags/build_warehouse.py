"""
### Build and publish the warehouse

Runs once every non-reference bronze feed has new data (the Assets the ingestion DAG updates; reference
tables such as sellers or FX rates do not gate it), and daily at 03:00 UTC at the latest:

1. `check_bronze`: quality gate on the feeds (volume, freshness, distribution shifts, cross-feed consistency);
2. `build_silver`: dbt builds staging, intermediate and the silver Delta tables, with their tests;
3. `check_silver`: totals reconcile bronze -> silver;
4. `build_marts`: dims, facts and KPI marts into the build copy of the warehouse, with their tests;
5. `check_marts`: silver -> marts reconciliation and KPI sanity on the build copy;
6. `publish`: the build copy atomically replaces `warehouse/warehouse.duckdb` and a publish manifest records
   the dbt runs, the Delta version of every lake table read and the test and quality results.

A quality error fails its task with the summary (table, expectation, observed value, failing rows) in the
log, so nothing after it runs and readers keep the last good warehouse.

Each build task's log lists every model's status, seconds and rows from dbt's run results. There is one dbt
writer at a time: one run of this DAG, one instance per task, and the writer lock (a task waits for a manual
`lakehouse build` to finish). A failed build is never published: readers keep the last good warehouse, and
`lakehouse publish --rollback` puts the one before back. Same steps from a shell:
`lakehouse check --layer bronze && lakehouse build --layer silver && lakehouse check --layer silver &&
lakehouse build --layer gold && lakehouse check --layer gold && lakehouse build --layer marts &&
lakehouse check --layer marts && lakehouse publish`.
Logic lives in `lakehouse/warehouse.py`; this file is wiring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, AssetAll, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from ingestion.catalog import FEED_TABLES, REFERENCE_FEEDS, asset_uri

WRITER_WAIT_SECONDS = 900  # a manual `lakehouse build` may hold the single-writer lock
FEED_ASSETS = [
    Asset(asset_uri("bronze", table))
    for table in sorted(
        {t for feed, tables in FEED_TABLES.items() if feed not in REFERENCE_FEEDS for t in tables}
        - {t for tables in FEED_TABLES.values() for t in tables if t.endswith("_pii")}
    )
]
WAREHOUSE_ASSET = Asset(asset_uri("warehouse", "marts"))

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=2),
    "execution_timeout": timedelta(hours=1),
    "max_active_tis_per_dag": 1,
}


def _gate(layer: str) -> dict:
    from lakehouse.warehouse import quality_gate

    report = quality_gate(layer, raise_on_error=True)
    print(report.render())
    return {"layer": layer, "run_id": report.run_id, "errors": len(report.errors), "warnings": len(report.warnings)}


@task
def check_bronze() -> dict:
    """Quality gate on the bronze feeds; an error stops the run before anything is built."""
    return _gate("bronze")


@task
def check_silver() -> dict:
    """Quality gate: bronze -> silver reconciliation."""
    return _gate("silver")


@task
def check_gold() -> dict:
    """Quality gate on the Spark jobs' gold outputs (attribution, forecasts)."""
    return _gate("gold")


@task
def check_marts() -> dict:
    """Quality gate on the build copy's marts; an error stops the run before publish."""
    return _gate("marts")


@task
def build_silver() -> dict:
    """dbt build of the silver layer (staging, intermediate, silver Delta tables + tests)."""
    from lakehouse.warehouse import build

    return build("silver", wait_seconds=WRITER_WAIT_SECONDS).summary()


@task
def build_gold() -> dict:
    """The gold layer: the Spark jobs of ``spark_jobs.GOLD_JOBS`` read silver and write ``lake/gold``."""
    from lakehouse.warehouse import build

    return build("gold", wait_seconds=WRITER_WAIT_SECONDS).summary()


@task
def build_marts() -> dict:
    """dbt build of the marts (dims, facts, KPI marts + tests) into the build copy."""
    from lakehouse.warehouse import build

    return build("marts", wait_seconds=WRITER_WAIT_SECONDS).summary()


@task(outlets=[WAREHOUSE_ASSET], retries=2)
def publish() -> dict:
    """Swap the build copy in as the published warehouse; refuses a failed build."""
    from lakehouse.warehouse import publish as publish_warehouse

    manifest = publish_warehouse(wait_seconds=WRITER_WAIT_SECONDS)
    print(f"published {manifest['file']} sha256={manifest['sha256']} quality={manifest['quality']}")
    return {k: manifest[k] for k in ("published_at", "publish_id", "sha256", "size_bytes")}


@dag(
    dag_id="build_warehouse",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), assets=AssetAll(*FEED_ASSETS)
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["warehouse", "dbt"],
    doc_md=__doc__,
)
def build_warehouse():
    (
        check_bronze()
        >> build_silver()
        >> check_silver()
        >> build_gold()
        >> check_gold()
        >> build_marts()
        >> check_marts()
        >> publish()
    )


build_warehouse()
