"""Superset started for real from .venv-superset on a free 127.0.0.1 port, once per session, over the tiny
published warehouse: bundle validation and idempotent import, every chart's data, row-level security for the
seller login, the export round trip, and headless Chromium screenshots of every dashboard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lakehouse import superset as ss
from lakehouse import warehouse
from lakehouse.dbt_runner import target_path
from lakehouse.settings import get_settings, reset_settings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def superset_server(tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Superset bootstrapped, imported and serving on a free port over a private copy of the tiny world (its lake
    and published warehouse), so the shared tiny warehouse stays as other tests expect it. The copy gets quality
    results the way the pipeline does (bronze gate, a one-model build, publish); stopped at the end of the session."""
    shared = get_settings()
    home = tmp_path_factory.mktemp("superset_home")
    shutil.copytree(shared.paths.lake, home / "lake", symlinks=True)
    (home / "warehouse").mkdir()
    shutil.copy2(tiny_warehouse, home / "warehouse" / "warehouse.duckdb")
    settings = replace(shared, home=home, superset_port=free_port())
    settings.paths.ensure()
    warehouse.quality_gate("bronze", settings=settings)
    warehouse.build("marts", select=("metric_glossary",), settings=settings, echo=False)
    warehouse.publish(settings=settings)
    try:
        ss.up(settings, echo=lambda _: None)
        yield {"settings": settings, "logins": ss.demo_logins(settings), "url": ss.url(settings), "shared": shared}
    finally:
        ss.down(settings)


@pytest.fixture(scope="session")
def admin(superset_server: dict) -> ss.Client:
    return ss.Client(superset_server["url"], "admin", superset_server["logins"]["admin"].password)


def _dashboard(client: ss.Client, title: str) -> dict:
    (found,) = [d for d in client.list("dashboard") if d["dashboard_title"] == title]
    return found


def _rows(resp) -> list[dict]:
    assert resp.status_code == 200, resp.text[:500]
    return [row for result in resp.json()["result"] for row in result["data"]]


def test_bundle_validates_against_the_dbt_manifest(superset_server: dict) -> None:
    manifest = target_path(superset_server["settings"]) / "manifest.json"
    assert ss.validate_bundle(ss.BUNDLE_DIR, manifest) == []
    files = ss.load_bundle()
    tables = {c["table_name"] for r, c in files.items() if r.startswith("datasets/")}
    exposures = yaml.safe_load((Path(ss.REPO_ROOT) / "dbt_project/models/exposures.yml").read_text())["exposures"]
    titles = {c["dashboard_title"] for r, c in files.items() if r.startswith("dashboards/")}
    assert titles == {e["label"] for e in exposures} == set(ss.DASHBOARD_ROLES)
    assert "seller_daily" in tables


def test_validation_names_file_and_rule(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ss.BUNDLE_DIR, bundle)
    chart = sorted((bundle / "charts").glob("*.yaml"))[0]
    content = yaml.safe_load(chart.read_text())
    content["dataset_uuid"] = "00000000-0000-0000-0000-000000000000"
    chart.write_text(yaml.safe_dump(content))
    dashboard = bundle / "dashboards" / "Demand_and_inventory.yaml"
    content = yaml.safe_load(dashboard.read_text())
    content["metadata"]["native_filter_configuration"][-1]["targets"][0]["column"]["name"] = "no_such_column"
    dashboard.write_text(yaml.safe_dump(content))
    dataset = sorted((bundle / "datasets").rglob("*.yaml"))[0]
    content = yaml.safe_load(dataset.read_text())
    content["description"] = f"exported from {get_settings().paths.warehouse_file}"
    dataset.write_text(yaml.safe_dump(content))
    problems = ss.validate_bundle(bundle)
    assert any(chart.name in p and "resolves to no dataset" in p for p in problems), problems
    assert any(dashboard.name in p and "targets column no_such_column" in p for p in problems), problems
    assert any(dataset.name in p and "holds a path of this machine" in p for p in problems), problems


def test_credentials_list_the_demo_logins(superset_server: dict) -> None:
    from click.testing import CliRunner

    from lakehouse.cli import cli

    settings = superset_server["settings"]
    env = {"LAKEHOUSE_HOME": str(settings.home), "LAKEHOUSE_SUPERSET_PORT": str(settings.superset_port)}
    reset_settings()
    try:
        result = CliRunner().invoke(cli, ["credentials", "--json"], env=env)
    finally:
        reset_settings()
    assert result.exit_code == 0, result.output
    logins = json.loads(result.output)
    own = ss.demo_seller_id(superset_server["settings"])
    assert {k: v["user"] for k, v in logins.items() if k.startswith("superset")} == {
        "superset": "admin",
        "superset-analyst": "analyst",
        "superset-executive": "executive",
        "superset-seller": "seller",
    }
    assert own in logins["superset-seller"]["note"]
    assert logins["superset"]["url"] == superset_server["url"]
    assert oct(superset_server["settings"].paths.credentials_file.stat().st_mode & 0o777) == "0o600"


def test_import_twice_changes_nothing(superset_server: dict, tmp_path: Path) -> None:
    settings = superset_server["settings"]
    ss.import_bundle(settings, echo=lambda _: None)
    for use_server in (True, False):  # the running server's export API, and a one-off app when it is down
        copy = tmp_path / f"bundle-{use_server}"
        shutil.copytree(ss.BUNDLE_DIR, copy)
        assert ss.export_bundle(settings, bundle=copy, echo=lambda _: None, use_server=use_server) == []


def test_every_chart_returns_rows(admin: ss.Client) -> None:
    charts = admin.list("chart")
    assert len(charts) == len(list(ss.BUNDLE_DIR.glob("charts/*.yaml")))
    empty = {c["slice_name"]: len(_rows(admin.chart_data(c["id"]))) for c in charts}
    assert [name for name, n in empty.items() if n == 0] == []


def test_seller_sees_only_its_own_rows(superset_server: dict, admin: ss.Client) -> None:
    settings = superset_server["settings"]
    own = ss.demo_seller_id(settings)
    seller = ss.Client(superset_server["url"], "seller", superset_server["logins"]["seller"].password)
    dashboards = {d["dashboard_title"] for d in seller.list("dashboard")}
    assert dashboards == {"Sellers", "Seller health"}
    for title, least in (("Sellers", 5), ("Seller health", 5)):
        dash = _dashboard(admin, title)
        charts = seller.get(f"/api/v1/dashboard/{dash['id']}/charts").json()["result"]
        with_rows = 0
        for chart in charts:
            rows = _rows(seller.chart_data(chart["id"]))
            with_rows += bool(rows)
            assert {r["seller_id"] for r in rows if "seller_id" in r} <= {own}, chart["slice_name"]
        assert with_rows >= least, title
    # every dataset the seller may query, grouped by seller_id: only its own seller, while admin sees several
    datasets = {d["table_name"]: d["id"] for d in admin.list("dataset")}
    for table in ss.SELLER_DATASETS:
        query = {
            "datasource": {"id": datasets[table], "type": "table"},
            "queries": [{"columns": ["seller_id"], "metrics": ["count"], "row_limit": 1000}],
            "result_format": "json",
            "result_type": "full",
        }
        mine = {r["seller_id"] for r in _rows(seller.post("/api/v1/chart/data", json=query))}
        everyone = {r["seller_id"] for r in _rows(admin.post("/api/v1/chart/data", json=query))}
        assert mine == {own} & everyone, table
        assert len(everyone) > 1, table
        # alerts and recommendations exist only for some sellers; every other table has rows of every seller
        assert own in everyone or table in ("seller_alerts", "seller_recommendations"), table
    # and nothing outside its datasets
    exec_chart = next(c for c in admin.list("chart") if c["slice_name"] == "Executive: GMV")
    assert seller.chart_data(exec_chart["id"]).status_code in (403, 404)


def test_analyst_sql_lab_is_read_only_on_the_warehouse(superset_server: dict, admin: ss.Client) -> None:
    analyst = ss.Client(superset_server["url"], "analyst", superset_server["logins"]["analyst"].password)
    assert {d["dashboard_title"] for d in analyst.list("dashboard")} == set(ss.DASHBOARD_ROLES)
    (database,) = [d for d in admin.list("database") if d["database_name"] == "warehouse"]

    def run(sql: str):
        return analyst.post(
            "/api/v1/sqllab/execute/",
            json={"database_id": database["id"], "sql": sql, "schema": "main", "runAsync": False},
        )

    ok = run("select count(*) as n from kpi_daily")
    assert ok.status_code == 200, ok.text[:300]
    assert ok.json()["data"][0]["n"] > 0
    refused = run("delete from kpi_daily")
    assert refused.status_code != 200 and "DML_NOT_ALLOWED" in refused.text, refused.text[:300]
    outside = run("select * from read_csv('/etc/hostname')")  # DuckDB's file access is off for Superset
    assert outside.status_code != 200 and "disabled by configuration" in outside.text, outside.text[:300]
    executive = ss.Client(superset_server["url"], "executive", superset_server["logins"]["executive"].password)
    assert [d["dashboard_title"] for d in executive.list("dashboard")] == ["Executive KPIs"]


def test_export_round_trip_after_an_edit(superset_server: dict, admin: ss.Client, tmp_path: Path) -> None:
    settings = superset_server["settings"]
    chart = next(c for c in admin.list("chart") if c["slice_name"] == "Logistics: late shipments")
    renamed = "Logistics: late shipments (edited in the UI)"
    resp = admin.put(f"/api/v1/chart/{chart['id']}", json={"slice_name": renamed})
    assert resp.status_code == 200, resp.text
    try:
        exported = tmp_path / "exported"
        shutil.copytree(ss.BUNDLE_DIR, exported)
        changed = ss.export_bundle(settings, bundle=exported, echo=lambda _: None)
        assert changed == ["charts/Logistics_late_shipments.yaml"]
        assert yaml.safe_load((exported / changed[0]).read_text())["slice_name"] == renamed
        assert ss.validate_bundle(exported) == []  # no absolute path, every uuid resolves
        text = "\n".join(p.read_text() for p in exported.rglob("*.yaml"))
        assert str(settings.home) not in text
        for key in ("slice_id:", "datasource_id", "datasetId", '"datasource"', "dashboards: ["):
            assert key not in text, key
        again = tmp_path / "again"
        shutil.copytree(exported, again)
        ss.import_bundle(settings, bundle=exported, echo=lambda _: None)
        assert ss.export_bundle(settings, bundle=again, echo=lambda _: None) == []
    finally:
        ss.import_bundle(settings, echo=lambda _: None)


def test_chromium_renders_every_dashboard(superset_server: dict) -> None:
    settings = superset_server["settings"]
    files = ss.load_bundle()
    slugs = {c["slug"]: c for r, c in files.items() if r.startswith("dashboards/")}
    out = superset_server["shared"].home / "screenshots"  # the session's LAKEHOUSE_HOME, for a person to look at
    proc = subprocess.run(
        [str(ss.python(settings)), str(ss.DASHBOARDS_DIR / "screenshots.py"), superset_server["url"], "admin",
         str(out), *sorted(slugs)],
        env={**os.environ, "SUPERSET_SCREENSHOT_PASSWORD": superset_server["logins"]["admin"].password},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert {p["slug"] for p in pages} == set(slugs)
    for page in pages:
        expected = len(ss._chart_uuids(slugs[page["slug"]]["position"]))
        assert page["alerts"] == [], page
        assert page["charts"] == page["rendered"] == expected, page
        assert Path(page["file"]).stat().st_size > 20_000
    # the seller's login renders its dashboard too (row-level security applied in the browser's queries)
    seller = subprocess.run(
        [str(ss.python(settings)), str(ss.DASHBOARDS_DIR / "screenshots.py"), superset_server["url"], "seller",
         str(out / "seller"), "sellers", "seller-health"],
        env={**os.environ, "SUPERSET_SCREENSHOT_PASSWORD": superset_server["logins"]["seller"].password},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert seller.returncode == 0, seller.stderr[-2000:]
    pages = [json.loads(line) for line in seller.stdout.splitlines() if line.startswith("{")]
    assert {p["slug"] for p in pages} == {"sellers", "seller-health"}
    for page in pages:
        expected = len(ss._chart_uuids(slugs[page["slug"]]["position"]))
        assert page["alerts"] == [] and page["charts"] == page["rendered"] == expected, page


def _saved_query(admin: ss.Client, slice_name: str, filters: list[dict] | None = None) -> list[dict]:
    """Rows of a chart's saved query context, run through ``POST /api/v1/chart/data`` with extra filters (what a
    native filter adds to a dashboard's query)."""
    files = ss.load_bundle()
    (chart,) = [c for r, c in files.items() if r.startswith("charts/") and c["slice_name"] == slice_name]
    (dataset,) = [c for r, c in files.items() if r.startswith("datasets/") and c["uuid"] == chart["dataset_uuid"]]
    ids = {d["table_name"]: d["id"] for d in admin.list("dataset")}
    context = json.loads(chart["query_context"])
    context["datasource"] = {"id": ids[dataset["table_name"]], "type": "table"}
    for query in context["queries"]:
        query["filters"] = [*query.get("filters", []), *(filters or [])]
    return _rows(admin.post("/api/v1/chart/data", json=context))


def test_attribution_models_share_the_same_orders(admin: ss.Client) -> None:
    """Side by side, every attribution model distributes the same orders over the channels (so each model's
    credit shares sum to 1), and the Markov removal effects come per Markov order, between 0 and 1."""
    rows = _saved_query(admin, "Marketing: attribution models side by side (credit share by channel)")
    per_model: dict[str, float] = {}
    for row in rows:
        per_model[row["model"]] = per_model.get(row["model"], 0.0) + row["Credit share"]
    assert len(per_model) >= 6, per_model  # the heuristics and the Markov chains
    assert max(per_model.values()) - min(per_model.values()) < 1e-6 * max(per_model.values()), per_model
    paid = _saved_query(admin, "Marketing: CPA and ROAS by paid channel under each attribution model")
    assert paid and set(per_model) == {r["model"] for r in paid}
    assert all(r["CPA"] is None or r["CPA"] > 0 for r in paid)
    effects = _saved_query(admin, "Marketing: Markov removal effects by channel")
    assert {r["model"] for r in effects} == {"markov_1", "markov_2", "markov_3"}
    assert all(0 <= r["Removal effect"] <= 1 for r in effects)


def test_demand_forecast_chart_matches_the_jobs_aggregates(superset_server: dict, admin: ss.Client) -> None:
    """The actual-vs-forecast chart sums the SKU forecasts and combines their intervals the way the forecast job
    builds its bottom-up aggregates: the whole portfolio equals the job's `total` series, and the market and
    category filters (as the dashboard's native filters send them) give the job's category x market series."""
    from datetime import UTC, datetime

    from deltalake import DeltaTable

    settings = superset_server["settings"]
    aggregates = DeltaTable(str(settings.paths.lake / "gold" / "forecast_aggregates")).to_pandas()
    chart = "Demand: actual vs forecast units (80% and 95% intervals)"
    columns = {
        "point": "Units__yhat",
        "lo80": "Units__yhat_lower",
        "hi80": "Units__yhat_upper",
        "lo95": "95% interval__yhat_lower",
        "hi95": "95% interval__yhat_upper",
    }

    def compare(rows: list[dict], expected) -> None:
        by_day = {datetime.fromtimestamp(r["forecast_date"] / 1000, UTC).date(): r for r in rows}
        forecast_days = {day for day, r in by_day.items() if r["Units__yhat"] is not None}
        assert forecast_days == set(expected["ds"]), "forecast days differ from the job's"
        history = [r for r in by_day.values() if r["Units__yhat"] is None]
        assert history and all(r["Units"] is not None and r["Units__yhat_lower"] is None for r in history)
        for item in expected.itertuples():
            row = by_day[item.ds]
            for col, label in columns.items():
                assert row[label] == pytest.approx(getattr(item, col), rel=1e-6, abs=1e-9), (item.ds, col)
            assert row[columns["lo95"]] <= row[columns["lo80"]] <= row["Units__yhat"] <= row[columns["hi80"]]
            assert row[columns["hi80"]] <= row[columns["hi95"]]

    compare(_saved_query(admin, chart), aggregates[aggregates["level"] == "total"])
    key = aggregates[aggregates["level"] == "category_market"].groupby("key")["point"].sum().idxmax()
    category, market = key.split("|")
    filters = [{"col": "category", "op": "IN", "val": [category]}, {"col": "market_code", "op": "IN", "val": [market]}]
    compare(_saved_query(admin, chart, filters), aggregates[aggregates["key"] == key])


def test_dashboards_offer_the_issues_filters() -> None:
    """Native filters: date range plus the dimensions each dashboard's marts carry (market, channel, seller,
    category); the bundle validation checks every filter's column exists in its dataset."""
    files = ss.load_bundle()
    names = {
        c["dashboard_title"]: {f["name"] for f in c["metadata"]["native_filter_configuration"]}
        for r, c in files.items()
        if r.startswith("dashboards/")
    }
    assert names["Demand and inventory"] == {"Date range", "Market", "Seller", "Category"}
    assert names["Marketing and attribution"] == {"Date range", "Market", "Channel"}
    assert names["Seller health"] == {"Date range", "Seller", "Category", "Market"}
    assert names["Sellers"] == {"Date range", "Seller", "Category"}
    assert {"Date range", "Market", "Channel"} <= names["Executive KPIs"]
    assert all("Date range" in n for n in names.values())


def test_sellers_category_filter_keeps_that_categorys_sellers(superset_server: dict, admin: ss.Client) -> None:
    """The Sellers dashboard's category filter (seller_daily.main_category) leaves the leaderboard with exactly
    sellers of that main category."""
    import duckdb

    settings = superset_server["settings"]
    with duckdb.connect(str(settings.paths.warehouse_file), read_only=True) as con:
        category, expected = con.execute(
            "select main_category, list(distinct seller_id) from seller_daily where orders > 0 "
            "group by main_category order by count(distinct seller_id) desc limit 1"
        ).fetchone()
    unfiltered = {r["seller_id"] for r in _saved_query(admin, "Sellers: leaderboard")}
    assert unfiltered - set(expected), "the tiny world should have sellers of other categories on the leaderboard"
    rows = _saved_query(admin, "Sellers: leaderboard", [{"col": "main_category", "op": "IN", "val": [category]}])
    assert rows, f"no leaderboard rows for category {category}"
    assert {r["seller_id"] for r in rows} <= set(expected)


def test_queries_follow_the_published_file(superset_server: dict, admin: ss.Client, tmp_path: Path) -> None:
    """Each Superset process keeps the warehouse open between queries (superset_config's connection mutator);
    when a publish replaces the file (os.replace), the next queries read the new file, in every worker."""
    import duckdb

    settings = superset_server["settings"]
    published = settings.paths.warehouse_file
    (database,) = [d for d in admin.list("database") if d["database_name"] == "warehouse"]

    def counts() -> set[int]:
        out = set()
        for _ in range(8):  # requests spread over the gunicorn workers
            resp = admin.post(
                "/api/v1/sqllab/execute/",
                json={"database_id": database["id"], "sql": "select count(*) as n from kpi_daily", "runAsync": False},
            )
            assert resp.status_code == 200, resp.text[:300]
            out.add(resp.json()["data"][0]["n"])
        return out

    (before,) = counts()
    original = tmp_path / "original.duckdb"
    shutil.copy2(published, original)
    changed = tmp_path / "changed.duckdb"
    shutil.copy2(published, changed)
    con = duckdb.connect(str(changed))
    try:
        con.execute("delete from kpi_daily where date_reporting = (select max(date_reporting) from kpi_daily)")
        (after,) = con.execute("select count(*) from kpi_daily").fetchone()
    finally:
        con.close()
    assert after < before
    try:
        os.replace(changed, published)
        assert counts() == {after}
    finally:
        os.replace(original, published)
    assert counts() == {before}
