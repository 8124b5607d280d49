"""The gold attribution checks (expectations/gold.py) fail with an error on the defects they exist for: credit that
does not add up to the orders, negative credit, removal effects outside [0, 1]. Small gold and silver tables in an
in-memory DuckDB go through each check's SQL and then Great Expectations with the real thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from expectations.checks import REGISTRY, CheckInputs, Window, checks
from expectations.config import check_config, load_thresholds
from expectations.runner import evaluate

# o1 (15.0) and o2 (20.0) convert; o3 is cancelled
ORDERS = [
    ("o1", 1, "c1", 10.0, False),
    ("o1", 2, "c1", 5.0, False),
    ("o2", 1, "c2", 20.0, False),
    ("o3", 1, "c3", 99.0, True),
]
CLEAN_ATTRIBUTION = [
    ("linear", "google_search", 1.5, 17.5),
    ("linear", "direct", 0.5, 17.5),
    ("markov_1", "google_search", 2.0, 35.0),
]
CLEAN_EFFECTS = [("markov_1", "google_search", 1.0, 1.0, 1.0, 1.0, 2.0, 35.0)]


def connection(attribution=CLEAN_ATTRIBUTION, effects=CLEAN_EFFECTS):
    con = duckdb.connect()
    con.execute("create schema silver; create schema gold")
    con.execute(
        "create table silver.order_lines (order_id varchar, line_no int, customer_key varchar, "
        "line_value_reporting double, is_cancelled boolean)"
    )
    con.executemany("insert into silver.order_lines values (?, ?, ?, ?, ?)", ORDERS)
    con.execute(
        "create table gold.attribution (model varchar, channel varchar, conversions double, revenue_reporting double)"
    )
    con.executemany("insert into gold.attribution values (?, ?, ?, ?)", attribution)
    con.execute(
        "create table gold.attribution_removal_effects (model varchar, channel varchar, removal_effect double, "
        "normalized double, revenue_removal_effect double, revenue_normalized double, conversions double, "
        "revenue_reporting double)"
    )
    con.executemany("insert into gold.attribution_removal_effects values (?, ?, ?, ?, ?, ?, ?, ?)", effects)
    return con


def failed(check: str, con) -> set[tuple[str, str]]:
    """(table, severity) of the failing results of ``check``."""
    checks("gold")
    config = check_config("gold", check, load_thresholds())
    window = Window(now=datetime(2026, 6, 30, 12, tzinfo=UTC))
    metrics = REGISTRY["gold"][check].compute(CheckInputs(con, window, config))
    assert not metrics.empty and metrics["value"].notna().all()
    results = evaluate("gold", metrics, only={check})
    return {(r.table, r.severity) for r in results if r.expectation == check and not r.success}


@pytest.mark.parametrize("check", ["attribution_conservation", "attribution_non_negative", "removal_effect_range"])
def test_clean_gold_passes(check):
    assert failed(check, connection()) == set()


def test_credit_that_does_not_add_up_to_the_orders_is_an_error():
    short = [*CLEAN_ATTRIBUTION[:2], ("markov_1", "google_search", 1.9, 35.0)]
    assert failed("attribution_conservation", connection(attribution=short)) == {("gold.attribution", "error")}
    more_revenue = [*CLEAN_ATTRIBUTION[:2], ("markov_1", "google_search", 2.0, 36.0)]
    assert failed("attribution_conservation", connection(attribution=more_revenue)) == {("gold.attribution", "error")}
    aggregate = [("markov_1", "google_search", 1.0, 1.0, 1.0, 1.0, 2.5, 35.0)]
    assert failed("attribution_conservation", connection(effects=aggregate)) == {
        ("gold.attribution_removal_effects", "error")
    }


def test_negative_credit_is_an_error():
    negative = [
        ("linear", "google_search", 2.5, 17.5),
        ("linear", "direct", -0.5, 17.5),
        ("markov_1", "google_search", 2.0, 35.0),
    ]
    assert failed("attribution_non_negative", connection(attribution=negative)) == {("gold.attribution", "error")}


def test_removal_effect_outside_zero_one_is_an_error():
    over = [("markov_1", "google_search", 1.2, 1.0, 1.0, 1.0, 2.0, 35.0)]
    assert failed("removal_effect_range", connection(effects=over)) == {("gold.attribution_removal_effects", "error")}
    under = [("markov_1", "google_search", 1.0, 1.0, -0.1, 1.0, 2.0, 35.0)]
    assert failed("removal_effect_range", connection(effects=under)) == {("gold.attribution_removal_effects", "error")}
