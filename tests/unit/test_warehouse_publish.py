"""Publishing the warehouse: readers never fail across publishes, rollback, refusal of failed builds, one
dbt writer. Prebuilt DuckDB files stand in for dbt builds (no dbt here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from lakehouse import warehouse
from lakehouse.dbt_runner import WriterBusyError, writer_lock
from lakehouse.settings import Settings, get_settings, reset_settings

REPO = Path(__file__).resolve().parents[2]
BUILDS = {"A": 1000, "B": 2000}

READER = """
import json, sys
from pathlib import Path
from lakehouse.duck import connect

stop, out = Path(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
while not stop.exists():
    try:
        con = connect()
        try:
            build_id, n = con.execute("select build_id, n from marker").fetchone()
            count = con.execute("select count(*) from data").fetchone()[0]
            total = con.execute("select sum(v) from data").fetchone()[0]
        finally:
            con.close()
        out.write(json.dumps({"build": build_id, "n": n, "count": count, "total": total}) + "\\n")
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\\n")
"""


@pytest.fixture
def home(tmp_path: Path):
    """A LAKEHOUSE_HOME of its own (the session's warehouse is left alone)."""
    saved = os.environ["LAKEHOUSE_HOME"]
    os.environ["LAKEHOUSE_HOME"] = str(tmp_path / "home")
    reset_settings()
    settings = get_settings()
    settings.paths.ensure()
    yield settings
    os.environ["LAKEHOUSE_HOME"] = saved
    reset_settings()


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory) -> dict[str, Path]:
    """Two small warehouse files; each says which build it is and how many rows its data table has."""
    root = tmp_path_factory.mktemp("prebuilt")
    out = {}
    for build_id, n in BUILDS.items():
        path = root / build_id / "warehouse.duckdb"
        path.parent.mkdir()
        con = duckdb.connect(str(path))
        con.execute("create table marker as select ? as build_id, ?::bigint as n", [build_id, n])
        con.execute(f"create table data as select range as id, range * 2 as v, repeat('x', 200) as pad from range({n})")
        con.close()
        out[build_id] = path
    return out


def stage(settings: Settings, source: Path, status: str = "success", layer: str = "marts", failed=()) -> None:
    """Put a prebuilt file in place as the build copy, with a recorded dbt run."""
    f = warehouse.files(settings)
    f.build.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, f.build)
    warehouse.record_run(
        settings,
        {
            "run_id": uuid.uuid4().hex,
            "layer": layer,
            "status": status,
            "invocation_id": uuid.uuid4().hex,
            "counts": {"model": {"success": 2}, "test": {"pass": 5, "warn": 1}},
            "lake_versions": {"bronze/orders": 3, f"silver/{layer}_table": 1},
            "failed": [{"node": n, "status": "error", "message": f"{n} broke"} for n in failed],
        },
    )


def published_build(settings: Settings) -> str:
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    try:
        return con.execute("select build_id from marker").fetchone()[0]
    finally:
        con.close()


def test_reader_sees_whole_files_across_20_publishes(home, prebuilt, tmp_path):
    stage(home, prebuilt["A"])
    warehouse.publish(settings=home)
    stop, log = tmp_path / "stop", tmp_path / "reads.jsonl"
    log.touch()
    env = {**os.environ, "LAKEHOUSE_HOME": str(home.home), "PYTHONPATH": str(REPO)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop), str(log)], env=env, cwd=REPO)
    try:

        def reads() -> int:
            return len(log.read_text().splitlines())

        def wait_reads(at_least: int) -> None:
            deadline = time.monotonic() + 60
            while reads() < at_least:
                assert reader.poll() is None, "reader process died"
                assert time.monotonic() < deadline, "reader made no progress"
                time.sleep(0.02)

        wait_reads(2)
        for i in range(20):
            stage(home, prebuilt["B" if i % 2 == 0 else "A"])
            warehouse.publish(settings=home)
            wait_reads(reads() + 2)  # at least one whole read started after this publish
    finally:
        stop.touch()
        reader.wait(timeout=60)
    results = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, f"{len(errors)} of {len(results)} reads failed: {errors[:3]}"
    for r in results:
        n = BUILDS[r["build"]]
        assert r["n"] == r["count"] == n and r["total"] == n * (n - 1), f"a read saw a mixed file: {r}"
    assert {r["build"] for r in results} == {"A", "B"}
    assert len(results) >= 42
    publishes = [json.loads(line) for line in warehouse.files(home).log.read_text().splitlines()]
    assert len(publishes) == 21 and all(p["action"] == "publish" for p in publishes)


def test_publish_manifest_records_the_build(home, prebuilt):
    stage(home, prebuilt["A"], layer="silver")
    warehouse.record_run(
        home,
        {
            "run_id": "m1",
            "layer": "marts",
            "status": "success",
            "invocation_id": "inv-marts",
            "counts": {"model": {"success": 3}, "test": {"pass": 7}, "unit_test": {"pass": 1}},
            "lake_versions": {"bronze/orders": 4, "silver/sessions": 2},
            "failed": [],
        },
    )
    manifest = warehouse.publish(settings=home, quality={"gx": {"status": "pending"}})
    f = warehouse.files(home)
    assert json.loads(f.manifest.read_text()) == json.loads(json.dumps(manifest, default=str))
    assert manifest["sha256"] == warehouse.sha256(f.published) and manifest["size_bytes"] == f.published.stat().st_size
    assert manifest["dbt"]["invocations"][-1] == "inv-marts" and len(manifest["dbt"]["runs"]) == 2
    assert manifest["lake_versions"] == {"bronze/orders": 4, "silver/silver_table": 1, "silver/sessions": 2}
    assert manifest["quality"]["dbt_tests"] == {"pass": 13, "warn": 1}
    assert manifest["quality"]["status"] == "warn" and manifest["quality"]["gx"] == {"status": "pending"}
    assert not f.build.exists() and not f.pending.exists()
    # the next build starts from a copy of what is published (incremental models keep their state)
    with writer_lock(home):
        warehouse.prepare_build_copy(home)
    assert warehouse.sha256(f.build) == manifest["sha256"]
    assert json.loads(f.pending.read_text())["base"]["sha256"] == manifest["sha256"]


def test_rollback_puts_the_previous_file_back(home, prebuilt):
    with pytest.raises(warehouse.PublishError, match="nothing to roll back"):
        warehouse.publish(settings=home, rollback=True)
    stage(home, prebuilt["A"])
    first = warehouse.publish(settings=home)
    stage(home, prebuilt["B"])
    second = warehouse.publish(settings=home)
    assert published_build(home) == "B"

    restored = warehouse.publish(settings=home, rollback=True)
    assert published_build(home) == "A"
    assert restored["sha256"] == first["sha256"] == warehouse.sha256(home.paths.warehouse_file)
    f = warehouse.files(home)
    assert json.loads(f.manifest.read_text())["publish_id"] == first["publish_id"]
    assert json.loads(f.previous_manifest.read_text())["publish_id"] == second["publish_id"]

    stage(home, prebuilt["A"])  # an unpublished build copy
    warehouse.publish(settings=home, rollback=True)  # the replaced file became "previous": roll forward
    assert published_build(home) == "B"
    assert not f.build.exists() and not f.pending.exists(), "a rollback discards the unpublished build copy"
    actions = [json.loads(line)["action"] for line in f.log.read_text().splitlines()]
    assert actions == ["publish", "publish", "rollback", "rollback"]


def test_refuses_to_publish_a_failed_build(home, prebuilt):
    with pytest.raises(warehouse.PublishError, match="nothing to publish"):
        warehouse.publish(settings=home)
    stage(home, prebuilt["A"])
    warehouse.publish(settings=home)

    stage(home, prebuilt["B"], status="error", failed=["model.lakehouse.kpi_daily"])
    with pytest.raises(warehouse.PublishError, match=r"(?s)refusing to publish.*kpi_daily broke"):
        warehouse.publish(settings=home)
    assert published_build(home) == "A"

    # a later passing run of the same layer makes the build publishable ...
    stage(home, prebuilt["B"])
    # ... but a failing silver run is not hidden by a passing marts run
    stage(home, prebuilt["B"], status="error", layer="silver", failed=["model.lakehouse.sessions"])
    stage(home, prebuilt["B"], layer="marts")
    with pytest.raises(warehouse.PublishError, match="sessions broke"):
        warehouse.publish(settings=home)
    stage(home, prebuilt["B"], layer="silver")
    warehouse.publish(settings=home)
    assert published_build(home) == "B"

    stage(home, prebuilt["A"], status="running")  # a build killed mid-run
    with pytest.raises(warehouse.PublishError, match="did not finish"):
        warehouse.publish(settings=home)


def _report(layer: str, errors: int) -> dict:
    """A quality gate outcome shaped like ``expectations.CheckReport.to_json()``."""
    results = [
        {
            "table": "kpi_daily",
            "expectation": "gmv_reconciles_with_fct_orders",
            "severity": "error",
            "success": False,
            "observed": 0.12,
        }
        for _ in range(errors)
    ] + [
        {
            "table": "kpi_daily",
            "expectation": "conversion_rate_in_0_1",
            "severity": "error",
            "success": True,
            "observed": 0.03,
        }
    ]
    return {"layer": layer, "run_id": f"{layer}-test", "results": results}


def test_a_quality_error_blocks_publishing_and_readers_keep_the_last_good_file(home, prebuilt):
    stage(home, prebuilt["A"])
    warehouse.record_quality(home, "marts", _report("marts", errors=0))
    manifest = warehouse.publish(settings=home)
    assert manifest["quality"]["gates"]["marts"]["ok"] is True

    stage(home, prebuilt["B"])
    warehouse.record_quality(home, "silver", _report("silver", errors=0))
    warehouse.record_quality(home, "marts", _report("marts", errors=1))
    with pytest.raises(warehouse.PublishError, match=r"(?s)quality checks found errors.*gmv_reconciles"):
        warehouse.publish(settings=home)
    assert published_build(home) == "A"  # readers still see the last good warehouse

    # a bronze warning/error is informational here (bronze gates the build itself)
    warehouse.record_quality(home, "marts", _report("marts", errors=0))
    warehouse.record_quality(home, "bronze", _report("bronze", errors=1))
    assert warehouse.publish(settings=home)["quality"]["gates"]["silver"]["ok"] is True
    assert published_build(home) == "B"


def test_one_dbt_writer_at_a_time(home):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom lakehouse.dbt_runner import writer_lock\n"
            "with writer_lock():\n    print('locked', flush=True)\n    time.sleep(60)\n",
        ],
        env={**os.environ, "LAKEHOUSE_HOME": str(home.home), "PYTHONPATH": str(REPO)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WriterBusyError, match=r"another dbt writer is running \(pid \d+"):
            warehouse.build("marts", settings=home)
        with pytest.raises(WriterBusyError):
            warehouse.publish(settings=home)
        with pytest.raises(WriterBusyError):
            warehouse.dbt(["ls"], settings=home)
        assert not warehouse.files(home).build.exists(), "a refused writer touched the build copy"
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    with writer_lock(home, wait_seconds=10):
        pass


def test_a_waiting_writer_gets_the_lock_when_it_is_released(home):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom lakehouse.dbt_runner import writer_lock\n"
            "with writer_lock():\n    print('locked', flush=True)\n    time.sleep(1.5)\n",
        ],
        env={**os.environ, "LAKEHOUSE_HOME": str(home.home), "PYTHONPATH": str(REPO)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with writer_lock(home, wait_seconds=30):
            waited = time.monotonic() - started
        assert 0.3 < waited < 30
    finally:
        holder.wait(timeout=30)


def test_layer_selection(home):
    silver = warehouse._layer_args("silver", False, [])
    assert silver[:4] == ["build", "--select", "tag:silver", "source:*"]
    assert silver[-2:] == ["--indirect-selection", "cautious"]
    marts = warehouse._layer_args("marts", True, ["+kpi_daily", "fct_orders"])
    assert marts == [
        "build",
        "--select",
        "tag:marts,+kpi_daily",
        "tag:marts,fct_orders",
        "--indirect-selection",
        "eager",
        "--full-refresh",
    ]
    with pytest.raises(ValueError, match="unknown layer"):
        warehouse.build("platinum", settings=home)
