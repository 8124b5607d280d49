"""The Spark attribution job: journeys, touch-level credit under every model, conservation, lookback and
determinism, on hand-made frames and on the session's tiny world (whose gold layer `build("all")` wrote)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from deltalake import DeltaTable
from pyspark.sql import types as T

from lakehouse.settings import get_settings
from spark_jobs.attribution import journeys
from spark_jobs.attribution.job import attribute

pytestmark = pytest.mark.integration

MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "markov_1",
    "markov_2",
    "markov_3",
)
T0 = datetime(2026, 6, 1, 12, 0, 0)
TOUCH_SCHEMA = T.StructType(
    [
        T.StructField("journey_key", T.StringType()),
        T.StructField("session_id", T.StringType()),
        T.StructField("touch_at", T.TimestampType()),
        T.StructField("channel", T.StringType()),
        T.StructField("campaign_id", T.StringType()),
    ]
)
CONVERSION_SCHEMA = T.StructType(
    [
        T.StructField("journey_key", T.StringType()),
        T.StructField("order_id", T.StringType()),
        T.StructField("converted_at", T.TimestampType()),
        T.StructField("conversion_date", T.DateType()),
        T.StructField("market_code", T.StringType()),
        T.StructField("revenue", journeys.MONEY),
    ]
)


def frames(spark, touches: list[tuple], conversions: list[tuple]):
    """touches: (key, session, hours after T0, channel, campaign); conversions: (key, order, hours, revenue)."""
    touch_rows = [(k, s, T0 + timedelta(hours=h), ch, camp) for k, s, h, ch, camp in touches]
    conversion_rows = [
        (k, o, T0 + timedelta(hours=h), (T0 + timedelta(hours=h)).date(), "US", Decimal(str(rev)))
        for k, o, h, rev in conversions
    ]
    return spark.createDataFrame(touch_rows, TOUCH_SCHEMA), spark.createDataFrame(conversion_rows, CONVERSION_SCHEMA)


def credit_rows(out) -> pd.DataFrame:
    return out.credits.select("model", "order_id", "session_id", "channel", "credit", "revenue").toPandas()


def channel_totals(credits: pd.DataFrame, model: str) -> dict[str, float]:
    rows = credits[credits["model"] == model]
    return rows.groupby("channel")["credit"].sum().to_dict()


# ---- the worked example of the issue ------------------------------------------------------------------------

WORKED_PATHS = {"c1": "ABABBA", "c2": "ABBAA", "c3": "AA"}


@pytest.fixture(scope="module")
def worked(spark):
    touches, conversions = [], []
    for key, path in WORKED_PATHS.items():
        for i, channel in enumerate(path):
            touches.append((key, f"{key}-s{i}", i, channel, None))
        conversions.append((key, f"{key}-order", len(path), 10.0))
    out = attribute(spark, *frames(spark, touches, conversions), lookback_days=30)
    yield out, credit_rows(out)
    out.unpersist()


def test_worked_example_removal_effects_and_allocations(worked):
    out, credits = worked
    effects = out.markov[1].removal_effect_map()
    assert effects["A"] == pytest.approx(1.0) and effects["B"] == pytest.approx(0.5)
    aggregate = out.removal_effects.where("model = 'markov_1'").toPandas().set_index("channel")["conversions"]
    assert aggregate["A"] == pytest.approx(2.0) and aggregate["B"] == pytest.approx(1.0)
    per_conversion = channel_totals(credits, "markov_1")
    assert per_conversion["A"] == pytest.approx(7 / 3) and per_conversion["B"] == pytest.approx(2 / 3)
    for model in ("first_touch", "last_touch"):
        totals = channel_totals(credits, model)
        assert totals.get("A", 0) == pytest.approx(3.0) and totals.get("B", 0) == pytest.approx(0.0)
    # a channel's per-conversion share is split equally over its touches: c1 has three A and three B touches
    c1 = credits[(credits["model"] == "markov_1") & (credits["order_id"] == "c1-order")]
    assert sorted(c1["credit"].round(12)) == sorted([round(2 / 9, 12)] * 3 + [round(1 / 9, 12)] * 3)


# ---- journeys: lookback, one conversion per touch, conversions without touches ----------------------------------

LOOKBACK_TOUCHES = [
    # key, session, hours after T0, channel, campaign
    ("k1", "old", 0, "meta", "m1"),  # 30 days + 1 hour before order o1: outside the lookback
    ("k1", "day30", 1, "google_search", "g1"),  # exactly 30 days before o1: inside (inclusive)
    ("k1", "mid", 500, "direct", None),
    ("k1", "same_time", 721, "email", None),  # at o1's instant: counts for o1
    ("k1", "after", 722, "tiktok", "t1"),  # after o1: credited to o2
    ("k1", "tail1", 5000, "referral", None),  # after o2, no later order: non-converting
    ("k1", "tail2", 5001, "referral", None),
    ("k1", "tail3", 5000 + 24 * 31, "affiliate", None),  # > lookback after tail2: a second non-converting journey
    ("anon", "a1", 10, "meta", "m2"),  # never converts
]
LOOKBACK_ORDERS = [("k1", "o1", 721, 100.0), ("k1", "o2", 800, 50.0), ("k2", "o3", 900, 20.0)]


@pytest.fixture(scope="module")
def lookback(spark):
    out = attribute(spark, *frames(spark, LOOKBACK_TOUCHES, LOOKBACK_ORDERS), lookback_days=30)
    yield out, credit_rows(out), out.paths.toPandas()
    out.unpersist()


def test_lookback_and_one_conversion_per_touch(lookback):
    _out, credits, _paths = lookback
    sessions = (
        credits[credits["model"] == "linear"]
        .groupby("order_id")["session_id"]
        .apply(lambda s: sorted(x if isinstance(x, str) else "<none>" for x in s))
    )
    assert sessions["o1"] == ["day30", "mid", "same_time"], "the 30 days + 1 hour old touch must be excluded"
    assert sessions["o2"] == ["after"], "a touch is credited to the next conversion only"
    assert sessions["o3"] == ["<none>"], "a conversion without touches gets one synthetic direct touch"
    o3 = credits[credits["order_id"] == "o3"]
    assert set(o3["channel"]) == {"direct"} and o3["credit"].sum() == pytest.approx(len(MODELS))


def test_non_converting_journeys(lookback):
    out, _credits, paths = lookback
    non_converting = sorted(tuple(p) for p in paths[paths["converted"] == 0]["path"])
    assert non_converting == [("affiliate",), ("meta",), ("meta",), ("referral", "referral")]
    assert out.stats["journeys"] == 7 and out.stats["conversions"] == 3
    assert out.stats["conversions_without_touch"] == 1
    assert out.stats["non_converting_journeys"] == 4


def test_lookback_setting_changes_the_journeys(spark):
    out = attribute(spark, *frames(spark, LOOKBACK_TOUCHES, LOOKBACK_ORDERS), lookback_days=31, orders=[1])
    try:
        credits = credit_rows(out)
        o1 = set(credits[(credits["model"] == "linear") & (credits["order_id"] == "o1")]["session_id"])
        assert "old" in o1, "with a 31-day lookback the 30 days + 1 hour old touch counts"
    finally:
        out.unpersist()


def test_position_based_and_time_decay_shares(lookback):
    _out, credits, _paths = lookback
    o1 = credits[credits["order_id"] == "o1"].set_index(["model", "session_id"])["credit"]
    assert o1[("position_based", "day30")] == pytest.approx(0.4)
    assert o1[("position_based", "mid")] == pytest.approx(0.2)
    assert o1[("position_based", "same_time")] == pytest.approx(0.4)
    ages = {"day30": 30.0, "mid": 221 / 24, "same_time": 0.0}
    weights = {s: 2 ** (-a / 7.0) for s, a in ages.items()}
    for session, weight in weights.items():
        assert o1[("time_decay", session)] == pytest.approx(weight / sum(weights.values()))
    assert o1[("last_non_direct", "same_time")] == 1.0 and o1[("last_touch", "same_time")] == 1.0


# ---- conservation on the tiny world ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(spark, tiny_warehouse):
    """attribute() on the tiny world's silver tables, in the test's own Spark session."""
    from lakehouse.spark import read_delta

    settings = get_settings()
    touches = journeys.touches_from_silver(read_delta(spark, settings.paths.table("silver", "touchpoints")))
    conversions = journeys.conversions_from_silver(
        read_delta(spark, settings.paths.table("silver", "order_lines")), settings.reporting_timezone
    )
    out = attribute(spark, touches, conversions, lookback_days=settings.attribution_lookback_days)
    credits = credit_rows(out)
    paths = out.paths.select("order_id", "path").where("order_id is not null").toPandas()
    yield out, credits, paths
    out.unpersist()


def expected_conversions() -> tuple[int, float]:
    """Orders not cancelled and their line value in the reporting currency, straight from silver (delta-rs)."""
    lines = DeltaTable(get_settings().paths.table("silver", "order_lines")).to_pandas(
        columns=["order_id", "is_cancelled", "line_value_reporting", "customer_key"]
    )
    kept = lines[~lines["is_cancelled"].fillna(False) & lines["customer_key"].notna()]
    return kept["order_id"].nunique(), float(kept["line_value_reporting"].astype(float).sum())


def test_every_model_conserves_conversions_and_revenue(tiny):
    out, credits, _paths = tiny
    orders, revenue = expected_conversions()
    assert orders > 1000 and out.stats["conversions"] == orders
    credits = credits.assign(revenue_credit=credits["credit"] * credits["revenue"].astype(float))
    by_model = credits.groupby("model")[["credit", "revenue_credit"]].sum()
    assert sorted(by_model.index) == sorted(MODELS)
    for model, row in by_model.iterrows():
        assert row["credit"] == pytest.approx(orders, rel=1e-9), model
        assert row["revenue_credit"] == pytest.approx(revenue, rel=1e-9), model
    gold = DeltaTable(get_settings().paths.table("gold", "attribution")).to_pandas()
    totals = gold.groupby("model")[["conversions", "revenue_reporting"]].sum()
    for model in MODELS:
        assert totals.loc[model, "conversions"] == pytest.approx(orders, rel=1e-9), model
        assert totals.loc[model, "revenue_reporting"] == pytest.approx(revenue, rel=1e-9), model
    aggregate = DeltaTable(get_settings().paths.table("gold", "attribution_removal_effects")).to_pandas()
    for model, rows in aggregate.groupby("model"):
        assert rows["conversions"].sum() == pytest.approx(orders, rel=1e-9), model
        assert rows["revenue_reporting"].sum() == pytest.approx(revenue, rel=1e-9), model
        assert rows["removal_effect"].between(0, 1).all() and rows["normalized"].sum() == pytest.approx(1.0)


def test_each_conversion_splits_exactly_one_among_its_own_channels(tiny):
    _out, credits, paths = tiny
    assert (credits["credit"] >= 0).all()
    on_path = {row.order_id: set(row.path) for row in paths.itertuples()}
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for row in credits.itertuples():
        sums[(row.model, row.order_id)] += row.credit
        if row.credit > 0:
            assert row.channel in on_path[row.order_id], (row.model, row.order_id, row.channel)
    assert len(sums) == len(MODELS) * len(on_path)
    worst = max(abs(total - 1.0) for total in sums.values())
    assert worst < 1e-9, f"a conversion's credits sum to 1 +- {worst}"


def test_gold_matches_a_second_run_exactly(tiny):
    """Determinism: the gold table `build("all")` wrote equals this session's run of the same input, row for row."""
    out, _credits, _paths = tiny
    columns = ["model", "conversion_date", "market_code", "channel", "campaign_id"]
    fresh = out.attribution.toPandas().sort_values(columns, ignore_index=True, na_position="first")
    gold = DeltaTable(get_settings().paths.table("gold", "attribution")).to_pandas()
    gold = gold[fresh.columns].sort_values(columns, ignore_index=True, na_position="first")
    fresh["conversion_date"] = pd.to_datetime(fresh["conversion_date"])
    gold["conversion_date"] = pd.to_datetime(gold["conversion_date"])
    pd.testing.assert_frame_equal(fresh, gold, check_exact=True, check_dtype=False)
    effects = DeltaTable(get_settings().paths.table("gold", "attribution_removal_effects")).to_pandas()
    fresh_effects = out.removal_effects.toPandas()
    key = ["model", "channel"]
    pd.testing.assert_frame_equal(
        fresh_effects.sort_values(key, ignore_index=True),
        effects[fresh_effects.columns].sort_values(key, ignore_index=True),
        check_exact=True,
        check_dtype=False,
    )


def test_conversions_from_order_lines(spark):
    """One conversion per order not cancelled: revenue summed over its lines, dated in the reporting timezone."""
    schema = (
        "order_id string, line_no int, customer_key string, order_created_at timestamp, market_code string, "
        "line_value_reporting double, is_cancelled boolean"
    )
    at = datetime(2026, 6, 1, 20, 0, 0)
    lines = spark.createDataFrame(
        [
            ("o1", 1, "c1", at, "JP", 10.25, False),
            ("o1", 2, "c1", at, "JP", 4.75, False),
            ("o2", 1, "c2", at, "JP", 99.0, True),
            ("o3", 1, None, at, "JP", 5.0, False),
        ],
        schema,
    )
    rows = journeys.conversions_from_silver(lines, "Asia/Tokyo").collect()
    assert [(r["order_id"], r["journey_key"], r["conversion_date"], float(r["revenue"])) for r in rows] == [
        ("o1", "c1", date(2026, 6, 2), 15.0)
    ]
