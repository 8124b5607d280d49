"""Defects injected into the tiny world's tables make the check built for them fail with the right severity.

The tiny world's bronze, silver and ledger tables and its marts are copied once into an in-memory DuckDB;
each scenario mutates them inside a transaction, runs one check (its SQL, its metric function and GX with
the real thresholds) and rolls back. Days come from the settings' as-of time, as in a real run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest

from expectations.checks import REGISTRY, CheckInputs
from expectations.config import check_config, load_thresholds
from expectations.runner import evaluate, make_window
from lakehouse import duck
from lakehouse.settings import get_settings

pytestmark = pytest.mark.integration

MARTS = ("fct_orders", "fct_ad_spend_daily", "kpi_daily", "channel_daily", "logistics_lane_daily")


@pytest.fixture(scope="module")
def tiny_db(tiny_warehouse) -> Iterator:
    settings = get_settings()
    con = duck.raw_connect(settings=settings)
    for (layer, table), path in duck.lake_tables(settings).items():
        if layer in ("bronze", "silver", "_ledger"):
            con.execute(f'create schema if not exists "{layer}"')
            con.execute(f'create table "{layer}"."{table}" as select * from delta_scan(\'{path}\')')
    con.execute(f"attach '{tiny_warehouse}' as wh (read_only)")
    for mart in MARTS:
        con.execute(f"create table main.{mart} as select * from wh.main.{mart}")
    con.execute("detach wh")
    con.execute("set timezone = 'UTC'")
    yield con
    con.close()


@pytest.fixture(scope="module")
def days() -> dict[str, str]:
    window = make_window(get_settings())
    day, matured = window.complete_days()[-1], window.matured_days()[-1]
    first, _ = window.recent_days()
    return {
        "day": day.isoformat(),
        "day_before": (day - timedelta(days=1)).isoformat(),
        "week_start": (day - timedelta(days=6)).isoformat(),
        "matured": matured.isoformat(),
        "first": first.isoformat(),
    }


def run_check(con, layer: str, name: str, thresholds: dict | None = None):
    thresholds = load_thresholds() if thresholds is None else thresholds
    config = check_config(layer, name, thresholds)
    metrics = REGISTRY[layer][name].compute(CheckInputs(con, make_window(get_settings()), config))
    return evaluate(layer, metrics, thresholds, only={name})


def outcome(results, check: str, table: str) -> dict[str, bool]:
    """severity -> failed, for ``check`` on ``table`` (metric_defined reported as its own check)."""
    return {r.severity: not r.success for r in results if r.expectation == check and r.table == table}


def with_overrides(layer: str, check: str, table: str, **values) -> dict:
    thresholds = copy.deepcopy(load_thresholds())
    section = thresholds[layer][check] = dict(thresholds[layer][check])
    tables = section["tables"] = dict(section["tables"])  # YAML anchors share dicts between checks
    tables[table] = {**(tables.get(table) or {}), **values}
    return thresholds


def mutate(con, statement: str, days: dict[str, str]) -> None:
    con.execute("begin transaction")
    con.execute(statement.format(**days))


# (id, layer, check, table, failing severities, SQL, threshold overrides for the tiny world)
SCENARIOS = [
    (
        "click volume drops 90%",
        "bronze", "volume", "bronze.clicks", {"error"},
        "delete from bronze.clicks where event_date = '{day}' and hash(event_id) % 10 <> 0",
        None,
    ),
    (
        "click feed stops arriving",
        "bronze", "freshness", "bronze.clicks", {"warn", "error"},
        "delete from bronze.clicks where event_date >= '{day_before}'",
        None,
    ),
    (
        "orders feed quiet since 18:00",
        "bronze", "freshness", "bronze.orders", {"warn"},
        "delete from bronze.orders where updated_at >= '{day} 18:00:00+00'",
        None,
    ),
    (
        "a currency whose share jumps",
        "bronze", "currency_share_shift", "bronze.orders", {"warn", "error"},
        "update bronze.orders set currency = 'JPY' where version = 1 and event_date = '{day}'",
        None,
    ),
    (
        "one market floods the orders",
        "bronze", "market_share_shift", "bronze.orders", {"warn", "error"},
        "update bronze.orders set marketplace = 'BR' where version = 1 and event_date = '{day}'",
        None,
    ),
    (
        "utm tagging lost",
        "bronze", "channel_share_shift", "bronze.clicks", {"warn", "error"},
        "update bronze.clicks set utm_medium = null where event_date = '{day}'",
        None,
    ),
    (
        "order totals sent in cents",
        "bronze", "order_value_shift", "bronze.orders", {"warn", "error"},
        (
            "update bronze.orders set total = total * 100 where version = 1 and event_date = '{day}' and "
            "marketplace = 'US'"
        ),
        {'min_orders': 5},
    ),
    (
        "a day of orders quarantined at 20%",
        "bronze", "quarantine_rate", "bronze.orders", {"warn"},
        (
            "update _ledger.ingest_files set quarantined = rows_read // 5 where feed = 'orders' and file_path "
            "like 'orders/dt={day}/%'"
        ),
        None,
    ),
    (
        "a week of orders quarantined at 20%",
        "bronze", "quarantine_rate", "bronze.orders", {"warn", "error"},
        (
            "update _ledger.ingest_files set quarantined = rows_read // 5 where feed = 'orders' and file_path "
            ">= 'orders/dt={week_start}'"
        ),
        None,
    ),
    (
        "breaking drift on every orders file",
        "bronze", "schema_drift", "bronze.orders", {"warn", "error"},
        (
            "update _ledger.ingest_files set drift = 'breaking: missing updated_at', quarantined = rows_read "
            "where feed = 'orders'"
        ),
        None,
    ),
    (
        "an unreadable manifest",
        "bronze", "failed_files", "bronze.shipments", {"error"},
        (
            "update _ledger.ingest_files set status = 'failed' where feed = 'shipments' and file_path like "
            "'%dt={day}%'"
        ),
        None,
    ),
    (
        "ad clicks with no matching sessions",
        "bronze", "ad_clicks_without_sessions", "bronze.ad_spend[google_ads]", {"warn", "error"},
        (
            "update bronze.clicks set utm_campaign = 'lost-' || utm_campaign where event_date = '{day}' and "
            "utm_source = 'google'"
        ),
        None,
    ),
    (
        "ad platform clicks far above tagged sessions",
        "bronze", "ad_sessions_per_click", "bronze.ad_spend[meta]", {"warn", "error"},
        "update bronze.ad_spend set clicks = clicks * 3 where event_date = '{day}' and platform = 'meta'",
        None,
    ),
    (
        "purchase events whose orders never arrived",
        "bronze", "purchases_without_order", "bronze.clicks", {"warn", "error"},
        (
            "delete from bronze.orders where order_id in (select order_id from bronze.clicks where event_name "
            "= 'purchase' and event_date = '{matured}')"
        ),
        None,
    ),
    (
        "a day of manifests missing",
        "bronze", "shipped_orders_without_manifest", "bronze.orders", {"warn", "error"},
        "delete from bronze.shipments where event_date = '{matured}'",
        None,
    ),
    (
        "shipped versions of a day missing",
        "bronze", "manifest_orders_not_shipped", "bronze.shipments", {"warn", "error"},
        "delete from bronze.orders where status = 'shipped' and event_date = '{matured}'",
        None,
    ),
    (
        "tracking numbers in no manifest",
        "bronze", "orphan_tracking", "bronze.tracking_events", {"warn"},
        (
            "update bronze.tracking_events set tracking_number = 'X' || tracking_number where event_date = "
            "'{matured}' and hash(tracking_number) % 5 = 0"
        ),
        None,
    ),
    (
        "silver orders that no longer reconcile with bronze",
        "silver", "orders_reconcile", "silver.order_lines", {"error"},
        "delete from silver.order_lines where order_date = '{day}' and hash(order_id) % 5 = 0",
        None,
    ),
    (
        "silver ad clicks doubled",
        "silver", "spend_reconcile", "silver.ad_spend_daily", {"error"},
        (
            "update silver.ad_spend_daily set clicks = clicks * 2 where date = '{day}' and cost_type = "
            "'ad_spend'"
        ),
        None,
    ),
    (
        "an order lost between silver and fct_orders",
        "marts", "orders_reconcile", "fct_orders", {"error"},
        (
            "delete from fct_orders where order_id = (select max(order_id) from fct_orders where order_date = "
            "'{day}')"
        ),
        None,
    ),
    (
        "kpi_daily GMV off by 10%",
        "marts", "orders_reconcile", "kpi_daily", {"error"},
        "update kpi_daily set gmv_reporting = gmv_reporting * 1.1 where date_reporting = '{day}'",
        None,
    ),
    (
        "a platform's spend missing from fct_ad_spend_daily",
        "marts", "spend_reconcile", "fct_ad_spend_daily", {"error"},
        "delete from fct_ad_spend_daily where date = '{day}' and platform = 'meta'",
        None,
    ),
    (
        "channel_daily spend doubled",
        "marts", "spend_reconcile", "channel_daily", {"error"},
        (
            "update channel_daily set ad_spend_reporting = ad_spend_reporting * 2 where date_reporting = "
            "'{day}'"
        ),
        None,
    ),
    (
        "conversion rate above 1",
        "marts", "kpi_ranges", "kpi_daily.conversion_rate", {"error"},
        (
            "update kpi_daily set conversion_rate = 1.5 where rowid = (select min(rowid) from kpi_daily where "
            "date_reporting = '{day}' and conversion_rate is not null)"
        ),
        None,
    ),
    (
        "negative ROAS",
        "marts", "kpi_ranges", "channel_daily.roas", {"error"},
        (
            "update channel_daily set roas = -0.5 where rowid = (select min(rowid) from channel_daily where "
            "date_reporting = '{day}' and roas is not null)"
        ),
        None,
    ),
    (
        "on-time rate above 1",
        "marts", "kpi_ranges", "logistics_lane_daily.on_time_rate", {"error"},
        (
            "update logistics_lane_daily set on_time_rate = 1.2 where rowid = (select min(rowid) from "
            "logistics_lane_daily where date_day >= '{first}' and on_time_rate is not null)"
        ),
        None,
    ),
    (
        "a market's GMV left in yen",
        "marts", "aov_by_market", "kpi_daily", {"warn", "error"},
        (
            "update kpi_daily set gmv_reporting = gmv_reporting * 150 where market_code = 'US' and "
            "date_reporting >= '{first}'"
        ),
        None,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("layer", "check", "table", "expected", "statement", "overrides"),
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def test_defect_fails_its_check(tiny_db, days, layer, check, table, expected, statement, overrides):
    thresholds = with_overrides(layer, check, table, **overrides) if overrides else None
    clean = outcome(run_check(tiny_db, layer, check, thresholds), check, table)
    assert clean and not any(clean.values()), f"{check} on {table} fails on clean tiny data: {clean}"
    try:
        mutate(tiny_db, statement, days)
        results = run_check(tiny_db, layer, check, thresholds)
    finally:
        tiny_db.execute("rollback")
    found = outcome(results, check, table)
    assert {severity for severity, failed in found.items() if failed} == expected, [
        r for r in results if r.expectation == check and r.table == table
    ]
    failing = [r for r in results if r.expectation == check and r.table == table and not r.success]
    assert all(r.details for r in failing), "failing results name the failing rows"


def test_a_missing_mart_is_an_error_not_a_skip(tiny_db):
    try:
        tiny_db.execute("begin transaction")
        tiny_db.execute("drop table kpi_daily")
        results = run_check(tiny_db, "marts", "aov_by_market")
    finally:
        tiny_db.execute("rollback")
    (defined,) = [r for r in results if r.expectation == "metric_defined"]
    assert not defined.success and defined.severity == "error" and "missing: kpi_daily" in defined.details
