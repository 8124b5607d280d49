"""Marketing marts (fct_sessions, fct_ad_spend_daily, kpi_daily, channel_daily, the last-non-direct-click
credit) against an independent polars recomputation from bronze clicks, ad spend, marketing costs, orders
and FX rates: sessions and converted sessions per day, sessions per channel (the simulator's own channel
rule), ad spend and other costs in the reporting currency per day, and each order's credited channel.
The simulator's ground truth (before defects) bounds sessions per day, spend per platform and the
acquisition channel shares."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from lakehouse.settings import get_settings
from simulator.recovery import classify_channel
from tests.integration.recompute import bronze, fx_to_reporting, query

pytestmark = pytest.mark.integration

MONEY_TOL = 1e-6


@pytest.fixture(scope="module")
def events(tiny_warehouse) -> pl.DataFrame:
    return bronze("clicks").select(
        "event_id",
        "event_name",
        "event_ts",
        "anonymous_id",
        "session_id",
        "customer_key",
        "utm_source",
        "utm_medium",
        "referrer",
        "order_id",
    )


@pytest.fixture(scope="module")
def sessions(events: pl.DataFrame) -> pl.DataFrame:
    """One row per bronze session: start, landing channel (simulator rule), purchase flag, own customer."""
    tz = get_settings().reporting_timezone
    return (
        events.sort("event_ts", "event_id")
        .group_by("session_id")
        .agg(
            pl.col("anonymous_id").first(),
            pl.col("utm_source").first(),
            pl.col("utm_medium").first(),
            pl.col("referrer").first(),
            start=pl.col("event_ts").first(),
            converted=(pl.col("event_name") == "purchase").any(),
            own_customer=pl.col("customer_key").drop_nulls().first(),
        )
        .with_columns(
            channel=classify_channel(),
            session_date=pl.col("start").dt.date(),
            date_reporting=pl.col("start").dt.convert_time_zone(tz).dt.date(),
        )
    )


def by_day(df: pl.DataFrame, day: str, **aggs: pl.Expr) -> pl.DataFrame:
    return df.group_by(day).agg(**aggs).rename({day: "day"}).sort("day")


def assert_same(expected: pl.DataFrame, actual: pl.DataFrame, key: list[str], columns: list[str]) -> None:
    joined = expected.join(actual, on=key, how="full", coalesce=True, suffix="_actual").fill_null(0)
    for column in columns:
        diff = joined.filter(
            (pl.col(column) - pl.col(f"{column}_actual")).abs() > MONEY_TOL * (1 + pl.col(column).abs())
        )
        assert diff.is_empty(), f"{column} differs on {diff.height} rows:\n{diff.head(10)}"


def test_sessions_and_conversions_per_day(tiny_warehouse, sessions):
    expected = by_day(sessions, "session_date", sessions=pl.len(), converted=pl.col("converted").sum())
    fact = query(
        tiny_warehouse,
        "select session_date as day, count(*) as sessions, count(*) filter (where has_purchase) as converted "
        "from main.fct_sessions group by 1",
    )
    assert expected["sessions"].sum() == sessions["session_id"].n_unique() > 1000
    assert_same(expected, fact, ["day"], ["sessions", "converted"])

    expected_reporting = by_day(sessions, "date_reporting", sessions=pl.len(), converted=pl.col("converted").sum())
    for mart in ("kpi_daily", "channel_daily"):
        actual = query(
            tiny_warehouse,
            f"select date_reporting as day, sum(sessions) as sessions, sum(converted_sessions) as converted "
            f"from main.{mart} group by 1 having sum(sessions) > 0",
        )
        assert_same(expected_reporting, actual, ["day"], ["sessions", "converted"])


def test_channel_classification_counts(tiny_warehouse, sessions):
    expected = sessions.group_by("channel").agg(sessions=pl.len(), converted=pl.col("converted").sum())
    assert set(expected["channel"]) == {
        "google_search",
        "google_shopping",
        "meta",
        "tiktok",
        "marketplace_ads",
        "email",
        "affiliate",
        "organic_search",
        "referral",
        "direct",
    }
    fact = query(
        tiny_warehouse,
        "select channel, count(*) as sessions, count(*) filter (where has_purchase) as converted "
        "from main.fct_sessions group by 1",
    )
    assert_same(expected, fact, ["channel"], ["sessions", "converted"])
    daily = query(
        tiny_warehouse,
        "select channel, sum(sessions) as sessions, sum(converted_sessions) as converted "
        "from main.channel_daily group by 1",
    )
    assert_same(expected, daily, ["channel"], ["sessions", "converted"])


def test_ad_spend_and_other_costs_per_day(tiny_warehouse):
    settings = get_settings()
    fx = fx_to_reporting(settings.reporting_currency)
    spend = (
        bronze("ad_spend")
        .sort("_ingested_at")
        .unique(["platform", "date", "campaign_id"], keep="last")
        .with_columns(pl.col("currency").str.to_uppercase())
        .join(fx, left_on=["currency", "date"], right_on=["currency", "day"], how="left")
        .with_columns(spend_reporting=pl.col("spend").cast(pl.Float64) * pl.col("to_reporting"))
    )
    assert spend["spend_reporting"].null_count() == 0
    costs = (
        bronze("marketing_costs")
        .with_columns(pl.col("currency").str.to_uppercase())
        .join(fx, left_on=["currency", "date"], right_on=["currency", "day"], how="left")
        .with_columns(other_costs_reporting=pl.col("amount").cast(pl.Float64) * pl.col("to_reporting"))
    )
    expected = by_day(spend, "date", spend_reporting=pl.col("spend_reporting").sum()).join(
        by_day(costs, "date", other_costs_reporting=pl.col("other_costs_reporting").sum()),
        on="day",
        how="full",
        coalesce=True,
    )
    assert expected["spend_reporting"].sum() > 100

    fact = query(
        tiny_warehouse,
        "select date as day, sum(spend_reporting) as spend_reporting, "
        "sum(other_costs_reporting) as other_costs_reporting from main.fct_ad_spend_daily group by 1",
    )
    assert_same(expected, fact, ["day"], ["spend_reporting", "other_costs_reporting"])
    for mart in ("kpi_daily", "channel_daily"):
        actual = query(
            tiny_warehouse,
            f"select date_reporting as day, sum(ad_spend_reporting) as spend_reporting, "
            f"sum(other_costs_reporting) as other_costs_reporting from main.{mart} group by 1 "
            f"having sum(ad_spend_reporting) + sum(other_costs_reporting) > 0",
        )
        assert_same(expected, actual, ["day"], ["spend_reporting", "other_costs_reporting"])

    per_platform = spend.group_by("platform").agg(
        impressions=pl.col("impressions").sum(), clicks=pl.col("clicks").sum()
    )
    actual = query(
        tiny_warehouse,
        "select platform, sum(impressions) as impressions, sum(clicks) as clicks from main.fct_ad_spend_daily "
        "where cost_type = 'ad_spend' group by 1",
    )
    assert_same(per_platform, actual, ["platform"], ["impressions", "clicks"])


def test_orders_credited_by_last_non_direct_click(tiny_warehouse, events, sessions):
    orders = (
        bronze("orders")
        .sort("version", "_ingested_at")
        .unique("order_id", keep="last")
        .select("order_id", "customer_key", "created_at")
    )
    logins = events.filter(pl.col("customer_key").is_not_null() & (pl.col("event_name") != "purchase")).select(
        "anonymous_id", "customer_key", "event_ts", source=pl.lit("login")
    )
    purchases = (
        events.filter(pl.col("event_name") == "purchase")
        .select("anonymous_id", "order_id", "event_ts")
        .join(orders.select("order_id", "customer_key"), on="order_id")
        .select("anonymous_id", "customer_key", "event_ts", source=pl.lit("purchase"))
    )
    identity = (
        pl.concat([logins, purchases])
        .sort("event_ts", "source", "customer_key")
        .unique("anonymous_id", keep="first")
        .select("anonymous_id", linked_customer="customer_key")
    )
    touches = (
        sessions.join(identity, on="anonymous_id", how="left")
        .with_columns(customer_key=pl.coalesce("own_customer", "linked_customer"))
        .filter(pl.col("customer_key").is_not_null() & (pl.col("channel") != "direct"))
        .select("customer_key", "session_id", "start", "channel")
    )
    credited = (
        orders.join(touches, on="customer_key")
        .filter(
            (pl.col("start") <= pl.col("created_at")) & (pl.col("start") >= pl.col("created_at") - timedelta(days=30))
        )
        .sort("start", "session_id")
        .unique("order_id", keep="last")
        .select("order_id", "channel", "session_id")
    )
    expected = orders.join(credited, on="order_id", how="left").with_columns(pl.col("channel").fill_null("direct"))

    actual = query(
        tiny_warehouse,
        "select order_id, channel as channel_actual, credited_session_id "
        "from intermediate.int_orders__channel_credited",
    )
    assert actual.height == expected.height == orders["order_id"].n_unique()
    joined = expected.join(actual, on="order_id", how="left")
    wrong = joined.filter(
        (pl.col("channel") != pl.col("channel_actual")) | pl.col("session_id").ne_missing(pl.col("credited_session_id"))
    )
    assert wrong.is_empty(), f"{wrong.height} orders credited differently:\n{wrong.head(10)}"
    assert expected.filter(pl.col("channel") != "direct").height > expected.height / 2

    fact = query(tiny_warehouse, "select order_id, channel as channel_actual from main.fct_orders")
    mismatched = expected.join(fact, on="order_id").filter(pl.col("channel") != pl.col("channel_actual"))
    assert mismatched.is_empty(), f"fct_orders.channel differs for {mismatched.height} orders"


def test_against_ground_truth(tiny_warehouse, tiny_landing, sessions):
    """Defects (~0.5% of records) remove a few sessions and spend rows; the rest must match the truth."""
    truth = json.loads((tiny_landing / "_simulator" / "ground_truth.json").read_text())
    truth_days = pl.DataFrame(
        [{"day": d["date"], "sessions": d["clicks"]["sessions"]} for d in truth["days"]]
    ).with_columns(pl.col("day").str.to_date())
    ours = by_day(sessions, "session_date", ours=pl.len())
    days = truth_days.join(ours, on="day", how="left").fill_null(0)
    assert (days["ours"] <= days["sessions"]).all()
    assert ((days["sessions"] - days["ours"]) <= 2 + 0.02 * days["sessions"]).all()

    if get_settings().reporting_currency == "USD":
        actual = query(
            tiny_warehouse,
            "select platform, sum(spend_reporting) as spend from main.fct_ad_spend_daily "
            "where cost_type = 'ad_spend' group by 1",
        )
        spend = dict(zip(actual["platform"], actual["spend"], strict=True))
        for platform in truth["days"][0]["ad_spend"]:
            true_spend = sum(d["ad_spend"][platform]["spend_usd"] for d in truth["days"])
            assert spend[platform] == pytest.approx(true_spend, rel=0.03), platform

    acquired = query(
        tiny_warehouse,
        "select channel, count(*) as users from main.fct_sessions where is_new_visitor group by 1",
    )
    ours = dict(zip(acquired["channel"], acquired["users"], strict=True))
    total_ours = sum(ours.values())
    total_truth = sum(c["acquired_users"] for c in truth["channels"].values())
    for channel, t in truth["channels"].items():
        assert ours[channel] / total_ours == pytest.approx(t["acquired_users"] / total_truth, abs=0.01), channel
