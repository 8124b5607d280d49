"""DAG integrity for every file in dags/: imports cleanly, no heavy imports at parse time, policy on
every task (retries, timeout), tags and docs on every DAG, no cycles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))
HEAVY = ("pandas", "polars", "pyspark", "duckdb", "great_expectations", "pyarrow", "deltalake", "dbt")

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy(dag_file, airflow_db):
    code = (
        "import json, runpy, sys, time\n"
        "t = time.perf_counter()\n"
        f"runpy.run_path({str(dag_file)!r})\n"
        "elapsed = time.perf_counter() - t\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], 'seconds': elapsed}}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(airflow_db), timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"{dag_file.name} imports {result['heavy']} at parse time"


def _env(extra):
    import os

    return {**os.environ, **extra}


def test_dagbag_policy(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from lakehouse.alerts import task_failed

    bag = DagBag(dag_folder=str(REPO / "dags"), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    assert bag.dags, "no DAGs found"
    for dag_id, dag in bag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False or dag_id.startswith("backfill"), f"{dag_id} catches up"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no execution_timeout"
            assert task.retry_exponential_backoff, f"{dag_id}.{task.task_id} retries without backoff"
            callbacks = (
                task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
            )
            assert task_failed in callbacks, f"{dag_id}.{task.task_id} sends no failure alert"


def test_ingest_dag_has_a_task_and_asset_per_feed(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from ingestion.catalog import FEED_TABLES, asset_uri

    dag = DagBag(dag_folder=str(REPO / "dags" / "ingest_landing.py"), safe_mode=False).dags["ingest_landing"]
    assert {t.task_id for t in dag.tasks} == {f"ingest_{f}" for f in FEED_TABLES}
    for feed, tables in FEED_TABLES.items():
        outlets = {a.uri for a in dag.get_task(f"ingest_{feed}").outlets}
        assert outlets == {asset_uri("bronze", t) for t in tables}


def test_build_warehouse_dag_is_gated_by_the_bronze_feeds(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from ingestion.catalog import FEED_TABLES, REFERENCE_FEEDS, asset_uri

    dag = DagBag(dag_folder=str(REPO / "dags" / "build_warehouse.py"), safe_mode=False).dags["build_warehouse"]
    assert dag.max_active_runs == 1
    assert [t.task_id for t in dag.topological_sort()] == [
        "check_bronze",
        "build_silver",
        "check_silver",
        "gold_attribution",
        "gold_forecast",
        "gold_insights",
        "check_gold",
        "build_marts",
        "check_marts",
        "publish",
    ]
    assert all(t.max_active_tis_per_dag == 1 for t in dag.tasks), "one dbt writer at a time"
    gates = {
        asset_uri("bronze", t)
        for feed, tables in FEED_TABLES.items()
        if feed not in REFERENCE_FEEDS
        for t in tables
        if not t.endswith("_pii")
    }
    assert gates and "lakehouse://bronze/fx_rates" not in gates
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetTriggeredTimetable", "no time schedule: enabling the DAG builds nothing"
    assert type(timetable.asset_condition).__name__ == "AssetAll", "a build waits for every gating feed"
    assert {a.uri for a in timetable.asset_condition.objects} == gates
    assert {a.uri for a in dag.get_task("publish").outlets} == {asset_uri("warehouse", "marts")}


def test_seller_reports_dag_is_hourly_gated_and_mapped(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from ingestion.catalog import asset_uri

    dag = DagBag(dag_folder=str(REPO / "dags" / "seller_reports.py"), safe_mode=False).dags["seller_reports"]
    assert dag.timetable.timetable.expression == "0 * * * *", "hourly"
    assert {a.uri for a in dag.timetable.asset_condition.objects} == {asset_uri("warehouse", "marts")}, (
        "and after every publish"
    )
    assert dag.max_active_runs == 1
    assert {t.task_id for t in dag.tasks} == {"check_published", "due_batches", "send_batch", "send_digest"}
    assert "MappedOperator" in type(dag.get_task("send_batch")).__name__, "batches fan out with .expand()"
    assert dag.get_task("check_published").downstream_task_ids == {"due_batches", "send_digest"}
    assert dag.get_task("due_batches").downstream_task_ids == {"send_batch"}


def test_maintenance_dag_runs_daily_with_one_task_per_step(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags" / "maintenance.py"), safe_mode=False).dags["lake_maintenance"]
    assert dag.timetable.expression == "30 4 * * *"
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {t.task_id for t in dag.tasks} == {"optimize", "vacuum", "cleanup_landing", "compact_ledger"}
    assert dag.get_task("optimize").downstream_task_ids == {"vacuum"}, "vacuum frees what compaction replaced"
    assert not dag.get_task("cleanup_landing").upstream_task_ids
    for t in dag.tasks:
        assert t.retry_exponential_backoff and t.retry_delay.total_seconds() > 0, t.task_id
