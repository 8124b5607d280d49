"""The attribution job on a real Spark standalone cluster (a master and one worker started from the pyspark
installation on 127.0.0.1, free ports) gives exactly the gold tables of the local run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from lakehouse.settings import get_settings
from lakehouse.spark_cluster import start_standalone

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "attribution": ["model", "conversion_date", "market_code", "channel", "campaign_id"],
    "attribution_removal_effects": ["model", "channel"],
    "attribution_transitions": ["model", "from_state", "to_state"],
}


@pytest.fixture(scope="module")
def cluster_run(tiny_warehouse, tmp_path_factory):
    """The session world's silver inputs copied to a home of their own, the job run there on a standalone cluster
    (in a subprocess: this process already has a local Spark session)."""
    settings = replace(get_settings(), home=tmp_path_factory.mktemp("cluster_home"))
    settings.paths.ensure()
    for table in ("touchpoints", "order_lines"):
        shutil.copytree(get_settings().paths.table("silver", table), settings.paths.table("silver", table))
    cluster = start_standalone(settings, cores=1, memory="1g")
    try:
        env = {
            **os.environ,
            "LAKEHOUSE_HOME": str(settings.home),
            "LAKEHOUSE_SPARK_DRIVER_MEMORY": "1g",
            "LAKEHOUSE_SPARK_EXECUTOR_MEMORY": "1g",
            "PYTHONPATH": str(REPO),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "spark_jobs.attribution", "--master", cluster.master_url],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
        status = cluster.status()
    finally:
        cluster.stop()
    assert proc.returncode == 0, f"job failed on {cluster.master_url}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return settings, cluster, proc, status


def _sorted(path: Path, keys: list[str]) -> pd.DataFrame:
    frame = DeltaTable(path).to_pandas()
    return frame[sorted(frame.columns)].sort_values(keys, ignore_index=True, na_position="first")


def test_job_runs_on_the_standalone_cluster(cluster_run):
    _settings, cluster, proc, status = cluster_run
    assert f"on {cluster.master_url}" in proc.stdout
    apps = [app["name"] for app in status.get("completedapps", []) + status.get("activeapps", [])]
    assert "lakehouse-attribution" in apps, status
    assert any(w.get("host") == "127.0.0.1" for w in status["workers"]), status["workers"]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(summary["tables"]) == {f"gold/{t}" for t in KEYS}


def test_cluster_output_equals_the_local_run(cluster_run):
    settings, _cluster, _proc, _status = cluster_run
    for table, keys in KEYS.items():
        local = _sorted(get_settings().paths.table("gold", table), keys)
        remote = _sorted(settings.paths.table("gold", table), keys)
        assert len(local) > 0, table
        pd.testing.assert_frame_equal(remote, local, check_exact=True, obj=table)
