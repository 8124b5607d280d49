"""Each check's metric function turns the defect it exists for into a failure of the right severity.

Small synthetic aggregate frames (what the checks' DuckDB queries return) go through the pure metric
functions and then through Great Expectations with the real thresholds (expectations/thresholds.yml).
The same defects injected into the tiny world's tables: tests/integration/test_quality_scenarios.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from expectations import bronze, reconcile
from expectations.config import check_config
from expectations.runner import evaluate

DAY = date(2026, 6, 29)
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
HISTORY = [DAY - timedelta(days=i) for i in range(7, 0, -1)]


def failures(layer: str, check: str, metrics: pd.DataFrame, table: str | None = None) -> dict[str, str]:
    """severity -> details of the failing results of ``check`` (on ``table``)."""
    results = evaluate(layer, metrics, only={check})
    assert metrics.empty or all(r.success for r in results if r.expectation == "metric_defined")
    return {
        r.severity: r.details
        for r in results
        if r.expectation == check and not r.success and (table is None or r.table == table)
    }


def passes(layer: str, check: str, metrics: pd.DataFrame) -> bool:
    assert not metrics.empty, "nothing was checked"
    return failures(layer, check, metrics) == {}


# --- volume ----------------------------------------------------------------------------------------------


def daily_counts(table: str, history: int, today: int | None) -> pd.DataFrame:
    rows = [{"table_name": table, "day": d, "rows": history} for d in HISTORY]
    if today is not None:
        rows.append({"table_name": table, "day": DAY, "rows": today})
    return pd.DataFrame(rows)


def volume(table: str, history: int, today: int | None) -> pd.DataFrame:
    return bronze.volume_metrics(daily_counts(table, history, today), {table: [DAY]}, check_config("bronze", "volume"))


def test_volume_clean_day_passes():
    assert passes("bronze", "volume", volume("bronze.clicks", 1300, 1250))


def test_click_volume_drop_of_90_percent_is_an_error():
    found = failures("bronze", "volume", volume("bronze.clicks", 1300, 130), "bronze.clicks")
    assert set(found) == {"error"}
    assert "130 rows vs trailing 7-day median 1300" in found["error"]


def test_a_day_without_rows_counts_as_zero():
    assert set(failures("bronze", "volume", volume("bronze.orders", 300, None))) == {"error"}


def test_volume_spike_is_a_warning():
    assert set(failures("bronze", "volume", volume("bronze.orders", 300, 700))) == {"warn"}


def test_missing_inventory_warehouse_file_is_a_warning():
    assert set(failures("bronze", "volume", volume("bronze.inventory", 6000, 5000))) == {"warn"}


def test_volume_needs_history():
    counts = daily_counts("bronze.clicks", 1300, 10)
    counts = counts[counts["day"] >= DAY - timedelta(days=2)]
    assert bronze.volume_metrics(counts, {"bronze.clicks": [DAY]}, check_config("bronze", "volume")).empty


# --- freshness -------------------------------------------------------------------------------------------


def freshness(table: str, hours_ago: float | None) -> pd.DataFrame:
    latest = None if hours_ago is None else pd.Timestamp(NOW.replace(tzinfo=None) - timedelta(hours=hours_ago))
    frame = pd.DataFrame({"table_name": [table], "latest": [latest]})
    return bronze.freshness_metrics(frame, NOW, check_config("bronze", "freshness"))


def test_fresh_feed_passes():
    assert failures("bronze", "freshness", freshness("bronze.clicks", 12), "bronze.clicks") == {}


def test_feed_that_stops_arriving_is_an_error():
    assert set(failures("bronze", "freshness", freshness("bronze.clicks", 40), "bronze.clicks")) == {"warn", "error"}


def test_feed_late_by_hours_is_a_warning():
    assert set(failures("bronze", "freshness", freshness("bronze.orders", 18), "bronze.orders")) == {"warn"}


def test_feed_without_recent_rows_is_an_error():
    found = failures("bronze", "freshness", freshness("bronze.shipments", None), "bronze.shipments")
    assert "error" in found and "no rows recently" in found["error"]


# --- distribution shifts ---------------------------------------------------------------------------------


def category_counts(history: dict[str, int], today: dict[str, int]) -> pd.DataFrame:
    rows = [{"day": d, "category": c, "n": n} for d in HISTORY for c, n in history.items()]
    rows += [{"day": DAY, "category": c, "n": n} for c, n in today.items()]
    return pd.DataFrame(rows)


def shift(check: str, table: str, history: dict[str, int], today: dict[str, int]) -> pd.DataFrame:
    counts = category_counts(history, today)
    return bronze.share_shift_metrics(counts, [DAY], table, check, check_config("bronze", check))


def test_stable_currency_mix_passes():
    assert passes(
        "bronze",
        "currency_share_shift",
        shift("currency_share_shift", "bronze.orders", {"USD": 60, "EUR": 40}, {"USD": 58, "EUR": 42}),
    )


def test_currency_whose_share_jumps_is_an_error():
    metrics = shift(
        "currency_share_shift", "bronze.orders", {"USD": 60, "EUR": 30, "JPY": 10}, {"USD": 20, "EUR": 20, "JPY": 60}
    )
    found = failures("bronze", "currency_share_shift", metrics)
    assert "error" in found and "JPY" in found["error"]


def test_market_share_moving_a_quarter_is_a_warning():
    metrics = shift("market_share_shift", "bronze.orders", {"US": 50, "DE": 50}, {"US": 76, "DE": 24})
    assert set(failures("bronze", "market_share_shift", metrics)) == {"warn"}


def test_lost_utm_tagging_is_an_error():
    metrics = shift(
        "channel_share_shift", "bronze.clicks", {"none": 350, "cpc": 300, "paid_social": 350}, {"none": 1000}
    )
    assert "error" in failures("bronze", "channel_share_shift", metrics)


def test_small_days_are_not_share_checked():
    assert shift("currency_share_shift", "bronze.orders", {"USD": 3}, {"EUR": 3}).empty


def order_values(mean_today: float, orders: int = 40) -> pd.DataFrame:
    rows = [{"day": d, "market": "JP", "orders": 40, "total": 40 * 3000.0} for d in HISTORY]
    rows.append({"day": DAY, "market": "JP", "orders": orders, "total": orders * mean_today})
    return pd.DataFrame(rows)


def order_value(mean_today: float, orders: int = 40) -> pd.DataFrame:
    config = check_config("bronze", "order_value_shift")
    return bronze.order_value_metrics(order_values(mean_today, orders), [DAY], "bronze.orders", config)


def test_order_value_in_another_unit_is_an_error():
    assert "error" in failures("bronze", "order_value_shift", order_value(30.0))  # JPY sent as USD


def test_order_value_up_150_percent_is_a_warning():
    assert set(failures("bronze", "order_value_shift", order_value(7500.0))) == {"warn"}


def test_order_value_of_a_normal_day_passes_and_small_markets_are_skipped():
    assert passes("bronze", "order_value_shift", order_value(3300.0))
    assert order_value(30.0, orders=5).empty


# --- ingest ledger ---------------------------------------------------------------------------------------


def ledger(*files: tuple[str, int, int, str, bool]) -> pd.DataFrame:
    """files: (feed, rows_read, quarantined, status, breaking drift)."""
    return pd.DataFrame(
        [
            {
                "feed": feed,
                "day": DAY,
                "file_path": f"{feed}/dt={DAY}/f{i}",
                "status": status,
                "rows_read": read,
                "quarantined": quarantined,
                "duplicates": 0,
                "breaking": breaking,
            }
            for i, (feed, read, quarantined, status, breaking) in enumerate(files)
        ]
    )


def ledger_metrics(fn, check: str, frame: pd.DataFrame) -> pd.DataFrame:
    return fn(frame, check_config("bronze", check), "2026-06-23..2026-06-29")


def test_quarantine_rate_of_planted_defects_passes():
    metrics = ledger_metrics(
        bronze.quarantine_metrics, "quarantine_rate", ledger(("orders", 1000, 5, "ingested", False))
    )
    assert passes("bronze", "quarantine_rate", metrics)


def test_quarantine_rate_above_2_percent_warns_above_10_percent_errors():
    warn = ledger_metrics(bronze.quarantine_metrics, "quarantine_rate", ledger(("clicks", 1000, 50, "ingested", False)))
    assert set(failures("bronze", "quarantine_rate", warn)) == {"warn"}
    error = ledger_metrics(
        bronze.quarantine_metrics, "quarantine_rate", ledger(("clicks", 1000, 200, "ingested", False))
    )
    found = failures("bronze", "quarantine_rate", error)
    assert set(found) == {"warn", "error"} and "clicks/dt=2026-06-29/f0" in found["error"]


def test_breaking_drift_is_reported_by_schema_drift_not_quarantine_rate():
    files = ledger(("tracking", 700, 0, "ingested", False), ("tracking", 300, 300, "ingested", True))
    assert passes("bronze", "quarantine_rate", ledger_metrics(bronze.quarantine_metrics, "quarantine_rate", files))
    drift = ledger_metrics(bronze.drift_metrics, "schema_drift", files)
    assert set(failures("bronze", "schema_drift", drift, "bronze.tracking_events")) == {"warn"}


def test_breaking_drift_on_most_of_a_feed_is_an_error():
    files = ledger(("tracking", 300, 0, "ingested", False), ("tracking", 700, 700, "ingested", True))
    drift = ledger_metrics(bronze.drift_metrics, "schema_drift", files)
    assert set(failures("bronze", "schema_drift", drift, "bronze.tracking_events")) == {"warn", "error"}


def test_a_failed_landing_file_is_an_error():
    files = ledger(("shipments", 50, 0, "ingested", False), ("shipments", 0, 0, "failed", False))
    metrics = ledger_metrics(bronze.failed_file_metrics, "failed_files", files)
    found = failures("bronze", "failed_files", metrics, "bronze.shipments")
    assert set(found) == {"error"} and "shipments/dt=2026-06-29/f1" in found["error"]


# --- cross-feed ------------------------------------------------------------------------------------------


def ad_clicks(sessions: list[int], clicks: list[int], platform: str = "google_ads") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": [DAY] * len(clicks),
            "platform": [platform] * len(clicks),
            "campaign_id": [f"c{i}" for i in range(len(clicks))],
            "clicks": clicks,
            "sessions": sessions,
        }
    )


def ad_metrics(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    config = check_config("bronze", "ad_sessions_per_click")
    per_click, _ = bronze.ad_click_metrics(frame, [DAY], config)
    _, without = bronze.ad_click_metrics(frame, [DAY], check_config("bronze", "ad_clicks_without_sessions"))
    return per_click, without


def test_ad_clicks_a_few_percent_above_sessions_pass():
    per_click, without = ad_metrics(ad_clicks([48, 29, 19], [50, 30, 20]))
    assert passes("bronze", "ad_sessions_per_click", per_click)
    assert passes("bronze", "ad_clicks_without_sessions", without)


def test_ad_clicks_with_no_matching_sessions_are_an_error():
    per_click, without = ad_metrics(ad_clicks([0, 0, 0], [50, 30, 20]))
    assert "error" in failures("bronze", "ad_sessions_per_click", per_click)
    found = failures("bronze", "ad_clicks_without_sessions", without)
    assert "error" in found and "c0 (50 clicks)" in found["error"]


def test_one_small_campaign_without_sessions_is_a_warning():
    _, without = ad_metrics(ad_clicks([290, 190, 0], [300, 200, 6]))
    assert set(failures("bronze", "ad_clicks_without_sessions", without)) == {"warn"}


def test_tagged_sessions_well_below_clicks_warn():
    per_click, _ = ad_metrics(ad_clicks([40, 24, 16], [50, 30, 20]))
    assert set(failures("bronze", "ad_sessions_per_click", per_click)) == {"warn"}


def matches(refs: int, unmatched: int) -> pd.DataFrame:
    return pd.DataFrame({"day": [DAY], "refs": [refs], "unmatched": [unmatched], "sample": ["PO10000001"]})


@pytest.mark.parametrize(
    ("check", "table", "refs", "unmatched", "expected"),
    [
        ("purchases_without_order", "bronze.clicks", 200, 0, set()),
        ("purchases_without_order", "bronze.clicks", 200, 2, {"warn"}),
        ("purchases_without_order", "bronze.clicks", 200, 10, {"warn", "error"}),
        ("shipped_orders_without_manifest", "bronze.orders", 100, 10, {"warn"}),
        ("shipped_orders_without_manifest", "bronze.orders", 100, 40, {"warn", "error"}),
        ("manifest_orders_not_shipped", "bronze.shipments", 100, 1, set()),
        ("manifest_orders_not_shipped", "bronze.shipments", 100, 20, {"warn", "error"}),
        ("orphan_tracking", "bronze.tracking_events", 300, 1, set()),
        ("orphan_tracking", "bronze.tracking_events", 300, 30, {"warn"}),
    ],
)
def test_unmatched_cross_feed_references(check, table, refs, unmatched, expected):
    metrics = bronze.match_metrics(matches(refs, unmatched), [DAY], table, check, "references")
    found = failures("bronze", check, metrics)
    assert set(found) == expected
    if expected:
        assert "PO10000001" in next(iter(found.values()))


# --- silver / marts --------------------------------------------------------------------------------------


def totals(orders: float, units: float, item_value: float, day: date = DAY) -> pd.DataFrame:
    return pd.DataFrame({"day": [day], "orders": [orders], "units": [units], "item_value": [item_value]})


def test_layers_that_agree_pass():
    metrics = reconcile.reconcile_metrics(
        totals(61, 65, 1466.99), totals(61, 65, 1466.99), "silver.order_lines", "orders_reconcile", ("b", "s")
    )
    assert passes("silver", "orders_reconcile", metrics)


def test_silver_orders_that_no_longer_reconcile_with_bronze_are_an_error():
    metrics = reconcile.reconcile_metrics(
        totals(61, 65, 1466.99), totals(60, 64, 1440.0), "silver.order_lines", "orders_reconcile", ("bronze", "silver")
    )
    found = failures("silver", "orders_reconcile", metrics)
    assert set(found) == {"error"} and "bronze 61.00 vs silver 60.00" in found["error"]


def test_a_day_missing_from_one_layer_is_an_error():
    metrics = reconcile.reconcile_metrics(
        pd.concat([totals(61, 65, 1466.99), totals(50, 52, 1200.0, DAY - timedelta(days=1))]),
        totals(61, 65, 1466.99),
        "kpi_daily",
        "orders_reconcile",
        ("fct_orders", "kpi_daily"),
    )
    assert "error" in failures("marts", "orders_reconcile", metrics, "kpi_daily")


def aov(gmv: float, orders: float = 100, market: str = "JP") -> pd.DataFrame:
    frame = pd.DataFrame({"market": [market, "US"], "orders": [orders, 500.0], "gmv": [gmv, 15000.0]})
    return reconcile.aov_metrics(frame, check_config("marts", "aov_by_market"), "2026-06-23..2026-06-30")


def test_plausible_aov_passes():
    assert passes("marts", "aov_by_market", aov(2500.0))


def test_aov_of_an_unconverted_currency_is_an_error():
    found = failures("marts", "aov_by_market", aov(100 * 3000.0))
    assert "error" in found and "JP" in found["error"]


def test_aov_out_of_the_usual_band_warns():
    assert set(failures("marts", "aov_by_market", aov(100 * 100.0))) == {"warn"}
