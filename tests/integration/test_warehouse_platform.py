"""The warehouse platform on tiny data: layered builds, the publish manifest, `lakehouse sql` in every format,
`lakehouse shell` on piped stdin, `lakehouse dbt`, and an incremental build (run by the build_warehouse DAG)
giving the same rows as a full rebuild."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from lakehouse import delta, warehouse
from lakehouse.cli import cli
from lakehouse.dbt_runner import target_path
from lakehouse.duck import lake_tables, raw_connect
from lakehouse.settings import Settings, get_settings, reset_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

GMV_BY_DAY = "select date_reporting, sum(gmv_reporting) as gmv from kpi_daily group by 1 order by 1"
# columns a build stamps with its own time or id: not data
BUILD_STAMPS = {"_built_at", "_dbt_built_at", "dbt_updated_at", "_invocation_id"}


def query(database: Path, sql: str) -> list[tuple]:
    con = raw_connect(database, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def run_lakehouse(*args: str, stdin: str | None = None, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if home is not None:
        env["LAKEHOUSE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def dbt_manifest(settings: Settings) -> dict:
    return json.loads((target_path(settings) / "manifest.json").read_text())


# ---- the session's build ---------------------------------------------------------------------------------


def test_every_model_belongs_to_exactly_one_layer(tiny_warehouse):
    models = {k: n for k, n in dbt_manifest(get_settings())["nodes"].items() if n["resource_type"] == "model"}
    assert models
    for unique_id, node in models.items():
        layers = {"silver", "marts"} & set(node["tags"])
        assert len(layers) == 1, f"{unique_id} is tagged {node['tags']}: a model is built by exactly one layer"


def test_publish_manifest_names_every_lake_table_read(tiny_warehouse):
    settings = get_settings()
    f = warehouse.files(settings)
    manifest = json.loads(f.manifest.read_text())
    runs = manifest["dbt"]["runs"]
    assert [r["layer"] for r in runs] == ["silver", "gold", "marts"] and all(r["status"] == "success" for r in runs)
    silver_run, gold_run, marts_run = runs
    assert manifest["dbt"]["invocations"] == [r.get("invocation_id") for r in runs]
    assert silver_run["invocation_id"] and marts_run["invocation_id"], "every dbt run has its invocation id"
    assert manifest["sha256"] == warehouse.sha256(tiny_warehouse)
    assert manifest["size_bytes"] == tiny_warehouse.stat().st_size
    tests = manifest["quality"]["dbt_tests"]
    assert manifest["quality"]["status"] in ("pass", "warn") and tests.get("pass", 0) > 100
    assert tests.get("fail", 0) == tests.get("error", 0) == 0
    assert manifest["dbt"]["results"]["model"].get("success", 0) >= 40

    versions = manifest["lake_versions"]
    lake = lake_tables(settings, include_restricted=True)
    bronze = {f"bronze/{t}": p for (layer, t), p in lake.items() if layer == "bronze"}
    silver = {f"silver/{t}": p for (layer, t), p in lake.items() if layer == "silver"}
    assert bronze and silver
    gold = {f"gold/{t}": p for (layer, t), p in lake.items() if layer == "gold"}
    assert {"gold/attribution", "gold/attribution_removal_effects", "gold/attribution_transitions"} <= set(gold)
    assert set(bronze) <= set(silver_run["lake_versions"]), "the silver run must record every bronze table"
    assert set(silver) <= set(gold_run["lake_versions"]), "the gold run records the silver tables its jobs read"
    assert set(bronze) | set(silver) | set(gold) <= set(marts_run["lake_versions"]), "marts read bronze, silver, gold"
    for name, path in {**bronze, **silver, **gold}.items():
        assert 0 <= versions[name] <= delta.version(path), name
    delta_models = {
        f"silver/{n['alias']}"
        for n in dbt_manifest(settings)["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("materialized") == "delta"
    }
    assert delta_models <= set(versions), "every silver Delta model is a lake table the marts read"

    publishes = [json.loads(line) for line in f.log.read_text().splitlines()]
    assert publishes[-1]["action"] == "publish" and publishes[-1]["publish_id"] == manifest["publish_id"]


def test_sql_in_every_format(tiny_warehouse, tmp_path):
    runner = CliRunner()
    expected = query(tiny_warehouse, GMV_BY_DAY)
    assert len(expected) > 30

    table = runner.invoke(cli, ["sql", GMV_BY_DAY])
    assert table.exit_code == 0, table.output
    assert "date_reporting" in table.stdout and f"({len(expected)} rows)" in table.stdout
    assert str(expected[0][0]) in table.stdout

    as_csv = runner.invoke(cli, ["sql", GMV_BY_DAY, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["date_reporting"], pytest.approx(float(r["gmv"]))) for r in rows] == [
        (d.isoformat(), g) for d, g in expected
    ]

    as_json = runner.invoke(cli, ["sql", GMV_BY_DAY, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert [(r["date_reporting"], pytest.approx(r["gmv"])) for r in json.loads(as_json.stdout)] == [
        (d.isoformat(), g) for d, g in expected
    ]

    out = tmp_path / "gmv.parquet"
    as_parquet = runner.invoke(cli, ["sql", GMV_BY_DAY, "--format", "parquet", "--output", str(out)])
    assert as_parquet.exit_code == 0, as_parquet.output
    assert pq.read_table(out).to_pylist() == [{"date_reporting": d, "gmv": g} for d, g in expected]

    out_csv = tmp_path / "gmv.csv"
    assert runner.invoke(cli, ["sql", GMV_BY_DAY, "--format", "csv", "-o", str(out_csv)]).exit_code == 0
    assert out_csv.read_text() == as_csv.stdout

    missing = runner.invoke(cli, ["sql", "select * from no_such_mart"])
    assert missing.exit_code == 1 and "SQL error" in missing.output and "no_such_mart" in missing.output
    no_file = runner.invoke(cli, ["sql", GMV_BY_DAY, "--format", "parquet"])
    assert no_file.exit_code == 2 and "--output" in no_file.output


def test_restricted_tables_only_when_asked(tiny_warehouse):
    runner = CliRunner()
    hidden = runner.invoke(cli, ["sql", "select count(*) as n from bronze.orders_pii"])
    assert hidden.exit_code == 1 and "orders_pii" in hidden.output
    shown = runner.invoke(cli, ["sql", "select count(*) as n from bronze.orders_pii", "--include-restricted"])
    assert shown.exit_code == 0, shown.output
    assert "restricted" in shown.stderr


def test_shell_reads_piped_stdin(tiny_warehouse):
    [(orders,)] = query(tiny_warehouse, "select count(*) from fct_orders")
    script = (
        ".tables\nselect count(*)\n  as order_count\nfrom fct_orders;\n.mode csv\nselect 1 as one; select 2 as two;\n"
    )
    done = run_lakehouse("shell", stdin=script)
    assert done.returncode == 0, done.stderr
    assert "kpi_daily" in done.stdout and "bronze.orders" in done.stdout and "orders_pii" not in done.stdout
    assert "order_count" in done.stdout and f"{orders}" in done.stdout
    assert "one\n1\n" in done.stdout and "two\n2\n" in done.stdout

    failed = run_lakehouse("shell", stdin="select * from no_such_mart;\nselect 42 as answer;\n")
    assert failed.returncode == 1 and "no_such_mart" in failed.stderr and "42" in failed.stdout


def test_dbt_passthrough_uses_the_build_copy(tiny_warehouse):
    result = CliRunner().invoke(cli, ["dbt", "--", "ls", "--select", "tag:marts", "--resource-type", "model"])
    assert result.exit_code == 0, result.output
    assert "lakehouse.marts.kpi.kpi_daily" in result.output
    assert warehouse.files().build.exists(), "dbt runs against the build copy, never the published file"
    assert CliRunner().invoke(cli, ["dbt"]).exit_code == 2


# ---- incremental == full, the incremental run done by the Airflow DAG ------------------------------------


@contextmanager
def lakehouse_home(home: Path) -> Iterator[Settings]:
    saved = os.environ["LAKEHOUSE_HOME"]
    os.environ["LAKEHOUSE_HOME"] = str(home)
    reset_settings()
    try:
        yield get_settings()
    finally:
        os.environ["LAKEHOUSE_HOME"] = saved
        reset_settings()


def _copy_landing(source: Path, target: Path, paths: list[str]) -> None:
    for rel in paths:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target / rel)  # keeps the arrival time (mtime) ingestion orders files by


@pytest.fixture(scope="module")
def two_builds(tiny_landing, airflow_db, tmp_path_factory):
    """`incremental`: built from every file that arrived before the world's last day, then the rest is ingested
    and the build_warehouse DAG runs (an incremental build + publish). `full`: the same bronze, rebuilt with
    --full-refresh in a lake and warehouse of its own."""
    from airflow.dag_processing.dagbag import DagBag

    from ingestion.run import ingest

    root = tmp_path_factory.mktemp("two_builds")
    inc = replace(get_settings(), home=root / "incremental")
    full = replace(get_settings(), home=root / "full")
    end = json.loads((tiny_landing / "_simulator" / "ground_truth.json").read_text())["parameters"]["end"]
    cutoff = datetime.fromisoformat(f"{end}T00:00:00+00:00")
    files = json.loads((tiny_landing / "_simulator" / "arrivals.json").read_text())["files"]
    late = [p for p, _, _, at in files if datetime.fromisoformat(at.replace("Z", "+00:00")) >= cutoff]
    early = [p for p, _, _, at in files if datetime.fromisoformat(at.replace("Z", "+00:00")) < cutoff]
    assert early and late

    _copy_landing(tiny_landing, inc.paths.landing, early)
    ingest(settings=inc)
    warehouse.build("all", settings=inc, echo=False)
    first = warehouse.publish(settings=inc)
    [(first_lines,)] = query(inc.paths.warehouse_file, "select count(*) from fct_order_items")

    _copy_landing(tiny_landing, inc.paths.landing, late)
    ingest(settings=inc)
    with lakehouse_home(inc.home):
        dag = DagBag(dag_folder=str(REPO / "dags" / "build_warehouse.py"), safe_mode=False).dags["build_warehouse"]
        for task in dag.tasks:
            task.retries = 0  # dag.test() would sit out the retry delay; a failure is a failure here
        run = dag.test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}

    full.paths.ensure()
    for layer in ("bronze", "quarantine", "_ledger"):
        shutil.copytree(inc.paths.layer(layer), full.paths.layer(layer), dirs_exist_ok=True)
    warehouse.build("all", full_refresh=True, settings=full, echo=False)
    warehouse.publish(settings=full)
    return SimpleNamespace(inc=inc, full=full, run=run, states=states, first=first, first_lines=first_lines)


def test_build_dag_builds_and_publishes_incrementally(two_builds):
    assert str(two_builds.run.state) in ("success", "DagRunState.SUCCESS"), two_builds.states
    assert set(two_builds.states) == {
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
    }
    assert all(s in ("success", "TaskInstanceState.SUCCESS") for s in two_builds.states.values()), two_builds.states
    f = warehouse.files(two_builds.inc)
    manifest = json.loads(f.manifest.read_text())
    gates = {layer: g["ok"] for layer, g in manifest["quality"]["gates"].items()}
    assert gates == {"silver": True, "gold": True, "marts": True}
    assert manifest["publish_id"] != two_builds.first["publish_id"]
    assert json.loads(f.previous_manifest.read_text())["publish_id"] == two_builds.first["publish_id"]
    assert manifest["lake_versions"]["bronze/orders"] > two_builds.first["lake_versions"]["bronze/orders"]
    [(lines,)] = query(two_builds.inc.paths.warehouse_file, "select count(*) from fct_order_items")
    assert lines > two_builds.first_lines, "the last day's orders were not added"
    # the silver incremental models replaced (or merged) only their lookback window
    nodes = dbt_manifest(two_builds.inc)["nodes"].values()
    incremental_delta = [
        n["alias"]
        for n in nodes
        if n["config"].get("materialized") == "delta" and n["config"].get("incremental_column")
    ]
    assert incremental_delta
    for table in incremental_delta:
        params = delta.history(two_builds.inc.paths.table("silver", table), 1)[0]["operationParameters"]
        assert params.get("predicate") or params.get("mergePredicate"), f"silver.{table} was rewritten whole"


def _comparable(database: Path, relation: str) -> pl.DataFrame:
    con = raw_connect(database, read_only=True)
    try:
        columns = [r[0] for r in con.execute(f"select * from {relation} limit 0").description]
        keep = ", ".join(f'"{c}"' for c in columns if c not in BUILD_STAMPS)
        return con.sql(f"select {keep} from {relation} order by all").pl()
    finally:
        con.close()


def test_incremental_build_equals_a_full_rebuild(two_builds):
    nodes = dbt_manifest(two_builds.full)["nodes"].values()
    built = [
        n
        for n in nodes
        if n["resource_type"] == "model" and n["config"].get("materialized") in ("table", "incremental", "delta")
    ]
    incremental = [
        n["name"]
        for n in built
        if n["config"].get("materialized") == "incremental" or n["config"].get("incremental_column")
    ]
    assert {"fct_order_items", "fct_sessions", "sessions", "order_lines"} <= set(incremental)
    differ = []
    for node in built:
        relation = f'"{node["schema"]}"."{node["alias"]}"'
        got = _comparable(two_builds.inc.paths.warehouse_file, relation)
        want = _comparable(two_builds.full.paths.warehouse_file, relation)
        try:
            assert_frame_equal(got, want, rel_tol=1e-9, abs_tol=1e-9)
        except AssertionError as exc:
            differ.append(f"{node['name']} ({got.height} incremental vs {want.height} full rows): {str(exc)[:300]}")
    assert not differ, "incremental build differs from a full rebuild:\n" + "\n".join(differ)
