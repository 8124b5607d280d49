"""The ingestion DAG runs for real with dag.test() on its own copy of the tiny world."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lakehouse import delta
from lakehouse.settings import get_settings, reset_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture
def separate_home(tiny_landing, tmp_path):
    """A LAKEHOUSE_HOME with a copy of the tiny landing zone and nothing ingested yet."""
    saved = os.environ["LAKEHOUSE_HOME"]
    home = tmp_path / "home"
    shutil.copytree(tiny_landing, home / "landing")
    os.environ["LAKEHOUSE_HOME"] = str(home)
    reset_settings()
    yield get_settings()
    os.environ["LAKEHOUSE_HOME"] = saved
    reset_settings()


def test_ingest_dag_runs(airflow_db, separate_home):
    from airflow.dag_processing.dagbag import DagBag

    from ingestion.catalog import FEED_TABLES

    dag = DagBag(dag_folder=str(REPO / "dags" / "ingest_landing.py"), safe_mode=False).dags["ingest_landing"]
    run = dag.test()
    assert str(run.state) in ("success", "DagRunState.SUCCESS"), run.state
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert all(s in ("success", "TaskInstanceState.SUCCESS") for s in states.values()), states
    for tables in FEED_TABLES.values():
        for table in tables:
            path = separate_home.paths.table("bronze", table)
            assert delta.table_exists(path) and delta.read_arrow(path).num_rows > 0, table
