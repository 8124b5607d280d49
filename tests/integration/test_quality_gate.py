"""The quality gate end to end on the tiny world: every layer passes on clean data, results are kept (GX's
store, data docs, lake/_quality/results) under LAKEHOUSE_HOME, and a bad build copy fails the marts gate
while the published warehouse stays as it was and readable."""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from expectations import data_docs_index, run_checks
from expectations.runner import make_window, results_table
from lakehouse import delta, duck
from lakehouse.settings import REPO_ROOT, get_settings

pytestmark = pytest.mark.integration


COMMITTED_GX = REPO_ROOT / "expectations" / "gx"


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture(scope="module")
def clean_reports(tiny_warehouse) -> dict:
    settings = get_settings()
    before = _tree(COMMITTED_GX)
    reports = {
        "bronze": run_checks("bronze", settings=settings),
        "silver": run_checks("silver", settings=settings),
        "marts": run_checks("marts", settings=settings, warehouse=tiny_warehouse),
    }
    reports["repo_gx_unchanged"] = _tree(COMMITTED_GX) == before
    return reports


@pytest.mark.parametrize("layer", ["bronze", "silver", "marts"])
def test_clean_tiny_world_passes(clean_reports, layer):
    report = clean_reports[layer]
    assert report.ok, report.render()
    assert report.results and all(r.severity in ("error", "warn") for r in report.results)
    assert f"quality check {layer}: PASSED" in report.render()
    assert report.to_json()["ok"] is True


def test_bronze_over_a_week_passes(tiny_bronze):
    settings = get_settings()
    since = make_window(settings).complete_days()[-1] - timedelta(days=6)
    report = run_checks("bronze", since=since, settings=settings, store=False)
    assert report.ok, report.render()


def test_results_are_kept_under_lakehouse_home(clean_reports):
    settings = get_settings()
    rows = delta.read_pandas(results_table(settings))
    for layer in ("bronze", "silver", "marts"):
        report = clean_reports[layer]
        mine = rows[rows["run_id"] == report.run_id]
        assert len(mine) == len(report.results) and set(mine["layer"]) == {layer}
        assert set(mine.columns) >= {
            "run_id", "checked_at", "layer", "table_name", "expectation", "severity", "success", "observed_value",
            "details",
        }  # fmt: skip
    index = data_docs_index(settings)
    assert index.exists() and index.is_relative_to(settings.paths.home)
    assert clean_reports["marts"].data_docs == str(index)
    gx_root = settings.paths.home / "quality" / "gx"
    assert {p.stem for p in (gx_root / "expectations").glob("*.json")} >= {"lakehouse_bronze", "lakehouse_marts"}
    assert list((gx_root / "uncommitted" / "validations").rglob("*.json")), "GX validation results store is empty"
    assert clean_reports["repo_gx_unchanged"], "GX wrote into the repository"


def test_a_second_run_reuses_the_stored_suite(clean_reports):
    settings = get_settings()
    suite = settings.paths.home / "quality" / "gx" / "expectations" / "lakehouse_silver.json"
    before = suite.stat().st_mtime_ns
    assert run_checks("silver", settings=settings).ok
    assert suite.stat().st_mtime_ns == before


def test_bad_build_copy_fails_the_marts_gate_and_the_published_warehouse_stays(tiny_warehouse, tmp_path: Path):
    settings = get_settings()
    published = Path(tiny_warehouse)
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    build = tmp_path / "build.duckdb"
    shutil.copyfile(published, build)
    day = make_window(settings).complete_days()[-1]
    con = duck.raw_connect(build, settings=settings)
    try:
        con.execute(f"update kpi_daily set conversion_rate = 3.0 where date_reporting = '{day}'")
        con.execute(f"delete from fct_orders where order_date = '{day}'")
    finally:
        con.close()

    report = run_checks("marts", settings=settings, warehouse=build, store=False)

    assert not report.ok
    failed = {(r.table, r.expectation) for r in report.errors}
    assert ("kpi_daily.conversion_rate", "kpi_ranges") in failed
    assert ("fct_orders", "orders_reconcile") in failed
    text = report.render()
    assert "FAILED" in text and "kpi_daily.conversion_rate" in text and str(day) in text
    assert hashlib.sha256(published.read_bytes()).hexdigest() == digest
    with duck.session(warehouse=published, lake=False, settings=settings) as reader:
        assert reader.execute("select count(*) from fct_orders").fetchone()[0] > 0
