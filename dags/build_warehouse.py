"""
### Build and publish the warehouse

Runs once every non-reference bronze feed has new data (the Assets the ingestion DAG updates; reference
tables such as sellers or FX rates do not gate it). There is no time fallback: a build on unchanged bronze
would only republish the same numbers, and a stalled feed shows in `lakehouse status` and the freshness checks.
To build from what is there, trigger this DAG by hand (or `lakehouse run`, which does when only some feeds had
new files).

1. `check_bronze`: quality gate on the feeds (volume, freshness, distribution shifts, cross-feed consistency);
2. `build_silver`: dbt builds staging, intermediate and the silver Delta tables, with their tests;
3. `check_silver`: totals reconcile bronze -> silver;
4. the Spark jobs of the gold layer, after silver: `gold_attribution` (seven attribution models, Markov removal
   effects), `gold_forecast` (30-day demand forecasts, inventory alerts), then `gold_insights` (seller
   scorecards, benchmarks and alerts, which read the other two);
5. `check_gold`: quality gate on the gold tables;
6. `build_marts`: dims, facts and KPI marts into the build copy of the warehouse, with their tests;
7. `check_marts`: silver -> marts reconciliation and KPI sanity on the build copy;
8. `publish`: the build copy atomically replaces `warehouse/warehouse.duckdb` and a publish manifest records
   the dbt runs, the Delta version of every lake table read and the test and quality results. It updates the
   warehouse Asset, which triggers the seller reports.

A quality error fails its task with the summary (table, expectation, observed value, failing rows) in the
log, so nothing after it runs, readers keep the last good warehouse, and the admin address gets a mail naming
the task and its log. A backfill (`lakehouse backfill`) puts its range on the Asset events, or trigger this DAG
with conf `{"since": "2026-06-01"}`: the incremental models then rebuild from that day on.

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

from airflow.sdk import Asset, AssetAll, dag, get_current_context, task

from ingestion.catalog import FEED_TABLES, REFERENCE_FEEDS, asset_uri
from lakehouse.dag_policy import backfill_since, default_args

WRITER_WAIT_SECONDS = 900  # a manual `lakehouse build` may hold the single-writer lock
FEED_ASSETS = [
    Asset(asset_uri("bronze", table))
    for table in sorted(
        {t for feed, tables in FEED_TABLES.items() if feed not in REFERENCE_FEEDS for t in tables}
        - {t for tables in FEED_TABLES.values() for t in tables if t.endswith("_pii")}
    )
]
WAREHOUSE_ASSET = Asset(asset_uri("warehouse", "marts"))

DEFAULT_ARGS = default_args(
    retries=1, retry_delay=timedelta(minutes=2), timeout=timedelta(hours=1), max_active_tis_per_dag=1
)


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
    """dbt build of the silver layer (staging, intermediate, silver Delta tables + tests); a backfill's range
    widens the incremental models' window."""
    from lakehouse.warehouse import build

    since = backfill_since(get_current_context())
    if since:
        print(f"backfill: incremental models rebuild from {since}")
    return build("silver", wait_seconds=WRITER_WAIT_SECONDS, since=since).summary()


@task
def build_gold(job: str) -> dict:
    """One Spark job of the gold layer (``spark_jobs.GOLD_JOBS``): reads silver, writes ``lake/gold``."""
    from lakehouse.warehouse import build

    return build("gold", select=[job], wait_seconds=WRITER_WAIT_SECONDS).summary()


@task
def build_marts() -> dict:
    """dbt build of the marts (dims, facts, KPI marts + tests) into the build copy."""
    from lakehouse.warehouse import build

    since = backfill_since(get_current_context())
    return build("marts", wait_seconds=WRITER_WAIT_SECONDS, since=since).summary()


@task(outlets=[WAREHOUSE_ASSET], retries=2)
def publish() -> dict:
    """Swap the build copy in as the published warehouse; refuses a failed build."""
    from lakehouse.warehouse import publish as publish_warehouse

    manifest = publish_warehouse(wait_seconds=WRITER_WAIT_SECONDS)
    print(f"published {manifest['file']} sha256={manifest['sha256']} quality={manifest['quality']}")
    return {k: manifest[k] for k in ("published_at", "publish_id", "sha256", "size_bytes")}


@dag(
    dag_id="build_warehouse",
    schedule=AssetAll(*FEED_ASSETS),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["warehouse", "dbt"],
    doc_md=__doc__,
)
def build_warehouse():
    silver = check_bronze() >> build_silver() >> check_silver()
    attribution = build_gold.override(task_id="gold_attribution")("attribution")
    forecast = build_gold.override(task_id="gold_forecast")("forecast")
    insights = build_gold.override(task_id="gold_insights")("insights")
    silver >> attribution >> forecast >> insights  # one Spark job at a time: each takes both cores
    insights >> check_gold() >> build_marts() >> check_marts() >> publish()


build_warehouse()
