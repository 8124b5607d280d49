"""Seller insights as pure Spark functions: inputs in, gold DataFrames out (no I/O here).

Definitions follow the metric glossary (docs/metrics.md) restricted to one seller: GMV = item value of orders not
cancelled, AOV = GMV / orders, refund rate = refunded orders / orders (both by order date), on-time delivery rate =
on-time / delivered shipments (by delivery date), ROAS = GMV of orders whose purchase session came from a paid
channel / the seller's own ad spend. Seller-specific additions: sessions = sessions that viewed one of the seller's
products (dated by session start), unit-session conversion = units / sessions (the marketplace business-report
measure). Money is in the seller's home currency (``*_home``) at the event date's FX rate, dates are the seller's
local dates, weeks start on Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

PERIOD_TYPES = ("week", "month")
MIN_COHORT = 5  # peer benchmarks need at least this many sellers in the category x market cohort
# health score: weights of its 0..1 components (missing components are left out and the weights renormalised)
HEALTH_WEIGHTS = {"growth": 0.25, "conversion": 0.25, "refunds": 0.20, "delivery": 0.15, "stock": 0.15}
REFUND_RATE_ZERO_SCORE = 0.20  # a refund rate at or above this scores 0
TRAILING_PERIODS = {"week": 8, "month": 6}  # baseline for alerts: the previous N complete periods
MIN_BASELINE_PERIODS = 3
Z_DROP = -3.0  # robust z-score at or below: a sudden drop
Z_SPIKE = 3.0  # robust z-score at or above: a spike
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data
DROP_RATIO_WHEN_FLAT = 0.5  # flat baseline (MAD 0): alert when the value falls to half the median or less
REFUND_SPIKE_MIN_RATE = 0.05
LANE_MIN_SHIPMENTS = 5
LANE_LATE_SHARE_RISE = 0.15
# the data-driven attribution model budget advice follows: first-order Markov, per-conversion allocation
DATA_DRIVEN_MODEL = "markov_1"
ROAS_SHIFT_RATIO = 1.5  # recommend a budget shift when the best channel's ROAS is this many times the worst's
TOP_KEYS = 10  # driver rows kept per seller, period and dimension
BENCHMARK_METRICS = {  # metric -> (column, higher is better)
    "gmv": ("gmv_reporting", True),
    "orders": ("orders", True),
    "aov": ("aov_reporting", True),
    "unit_session_conversion": ("unit_session_conversion", True),
    "refund_rate": ("refund_rate", False),
}
MEASURES = (
    "orders",
    "units",
    "gmv_home",
    "gmv_reporting",
    "paid_gmv_home",
    "refunded_orders",
    "refunds_home",
    "sessions",
    "ad_spend_home",
    "delivered_shipments",
    "on_time_shipments",
    "late_shipments",
    "stockout_days",
    "sku_market_days",
)


@dataclass
class Inputs:
    sellers: DataFrame
    products: DataFrame
    fx_rates: DataFrame
    events: DataFrame
    order_lines: DataFrame
    returns: DataFrame
    sessions: DataFrame
    shipments: DataFrame
    ad_spend: DataFrame
    daily_sales: DataFrame
    inventory_alerts: DataFrame | None = None
    attribution: DataFrame | None = None
    reporting_currency: str = "USD"


# --- reference ---------------------------------------------------------------------------------------------------


def latest_sellers(sellers: DataFrame) -> DataFrame:
    """One row per seller from the latest reference snapshot."""
    latest = sellers.agg(F.max("snapshot_date").alias("snap"))
    w = Window.partitionBy("seller_id").orderBy(F.col("_ingested_at").desc())
    return (
        sellers.join(latest, sellers.snapshot_date == latest.snap)
        .withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select(
            "seller_id",
            "seller_name",
            F.col("home_currency").alias("home_currency_code"),
            F.col("timezone").alias("seller_timezone"),
            F.col("language").alias("seller_language"),
            "main_category",
            "plan_tier",
        )
    )


def latest_products(products: DataFrame) -> DataFrame:
    latest = products.agg(F.max("snapshot_date").alias("snap"))
    w = Window.partitionBy("sku").orderBy(F.col("_ingested_at").desc())
    return (
        products.join(latest, products.snapshot_date == latest.snap)
        .withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select("sku", "seller_id", "title")
    )


def fx_daily(fx_rates: DataFrame) -> DataFrame:
    """Units of each currency per EUR for every day (the last published rate on days without one), as
    ``int_fx_rates__daily`` does: ``currency_code, rate_date, per_eur``."""
    w = Window.partitionBy("currency_code", "rate_date").orderBy(F.col("_ingested_at").desc())
    rates = (
        fx_rates.where(F.col("currency_denom") == "EUR")
        .withColumn("currency_code", F.upper("currency"))
        .withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select("currency_code", "rate_date", F.col("rate").cast("double").alias("per_eur"))
    )
    rates = rates.unionByName(
        rates.select(F.lit("EUR").alias("currency_code"), "rate_date", F.lit(1.0).alias("per_eur")).distinct()
    )
    bounds = rates.agg(F.min("rate_date").alias("lo"), F.max("rate_date").alias("hi"))
    calendar = bounds.select(F.explode(F.sequence("lo", F.date_add("hi", 31))).alias("rate_date"))
    grid = calendar.crossJoin(rates.select("currency_code").distinct())
    filled = grid.join(rates, ["currency_code", "rate_date"], "left")
    w2 = Window.partitionBy("currency_code").orderBy("rate_date").rowsBetween(Window.unboundedPreceding, 0)
    return filled.withColumn("per_eur", F.last("per_eur", ignorenulls=True).over(w2)).where("per_eur is not null")


def local_date(ts: str, tz: str = "seller_timezone") -> Column:
    return F.to_date(F.from_utc_timestamp(F.col(ts), F.col(tz)))


def to_home(amount: Column, currency: str, on: str, fx: DataFrame, df: DataFrame) -> DataFrame:
    """Add ``_fx_home``: multiply an amount in ``currency`` on date ``on`` by it to get the home currency."""
    cur = fx.select(F.col("currency_code").alias("_c1"), F.col("rate_date").alias("_d1"), F.col("per_eur").alias("_r1"))
    home = fx.select(
        F.col("currency_code").alias("_c2"), F.col("rate_date").alias("_d2"), F.col("per_eur").alias("_r2")
    )
    out = df.join(F.broadcast(cur), (df[currency] == cur._c1) & (df[on] == cur._d1), "left")
    out = out.join(F.broadcast(home), (out["home_currency_code"] == home._c2) & (out[on] == home._d2), "left")
    return out.withColumn("_fx_home", F.col("_r2") / F.col("_r1")).drop("_c1", "_d1", "_r1", "_c2", "_d2", "_r2")


# --- daily facts -------------------------------------------------------------------------------------------------


def order_facts(inp: Inputs, sellers: DataFrame, fx: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Order lines not cancelled, in home currency and seller-local date, with the purchase session's channel.

    Returns (lines, orders): lines per SKU; orders per order with market, channel, paid flag and refund flag.
    """
    purchase = (
        inp.sessions.where("purchase_order_id is not null")
        .withColumn("_rn", F.row_number().over(Window.partitionBy("purchase_order_id").orderBy("session_start")))
        .where("_rn = 1")
        .select(F.col("purchase_order_id").alias("order_id"), "channel", F.col("is_paid").alias("is_paid_channel"))
    )
    lines = inp.order_lines.where(~F.col("is_cancelled")).join(F.broadcast(sellers), "seller_id")
    lines = to_home(F.col("line_value_original"), "currency_code", "order_date", fx, lines)
    lines = lines.select(
        "order_id",
        "sku",
        "seller_id",
        "market_code",
        local_date("order_created_at").alias("date_seller"),
        F.col("quantity").cast("long").alias("units"),
        (F.col("line_value_original").cast("double") * F.col("_fx_home")).alias("gmv_home"),
        F.col("line_value_reporting").alias("gmv_reporting"),
    )
    refunded = inp.returns.where("is_refunded").select("order_id").distinct().withColumn("is_refunded", F.lit(True))
    orders = (
        lines.groupBy("order_id", "seller_id", "market_code", "date_seller")
        .agg(
            F.sum("units").alias("units"),
            F.sum("gmv_home").alias("gmv_home"),
            F.sum("gmv_reporting").alias("gmv_reporting"),
        )
        .join(purchase, "order_id", "left")
        .join(refunded, "order_id", "left")
        .fillna({"channel": "unattributed", "is_paid_channel": False, "is_refunded": False})
    )
    return lines, orders


def seller_sessions(inp: Inputs, products: DataFrame, sellers: DataFrame) -> DataFrame:
    """Sessions that viewed a seller's product: ``seller_id, sku, session_id, date_seller, market_code, channel``."""
    views = (
        inp.events.where(F.col("event_name") == "product_view")
        .select("session_id", F.col("product_id").alias("sku"))
        .where("sku is not null")
        .distinct()
        .join(F.broadcast(products.select("sku", "seller_id")), "sku")
    )
    sessions = inp.sessions.select("session_id", "session_start", "market_code", "channel")
    return (
        views.join(sessions, "session_id")
        .join(F.broadcast(sellers.select("seller_id", "seller_timezone")), "seller_id")
        .select(
            "seller_id", "sku", "session_id", local_date("session_start").alias("date_seller"), "market_code", "channel"
        )
    )


def daily_facts(inp: Inputs, sellers: DataFrame, products: DataFrame, fx: DataFrame) -> dict[str, DataFrame]:
    """``facts``: seller x local day x market x channel with every measure of :data:`MEASURES` (missing = 0);
    ``lines``; ``views``; ``lanes``: seller x lane x day shipments."""
    lines, orders = order_facts(inp, sellers, fx)
    views = _materialise(seller_sessions(inp, products, sellers))  # read twice: sessions here, sku_daily later
    keys = ["seller_id", "date_seller", "market_code", "channel"]

    parts = [
        orders.groupBy(*keys).agg(
            F.countDistinct("order_id").alias("orders"),
            F.sum("units").alias("units"),
            F.sum("gmv_home").alias("gmv_home"),
            F.sum("gmv_reporting").alias("gmv_reporting"),
            F.sum(F.when(F.col("is_paid_channel"), F.col("gmv_home")).otherwise(0.0)).alias("paid_gmv_home"),
            F.countDistinct(F.when(F.col("is_refunded"), F.col("order_id"))).alias("refunded_orders"),
        ),
        inp.returns.where("is_refunded")
        .join(F.broadcast(sellers.select("seller_id", "seller_timezone")), "seller_id")
        .select(
            "seller_id",
            local_date("refunded_at").alias("date_seller"),
            "market_code",
            F.lit(None).cast("string").alias("channel"),
            F.col("refund_amount_home").alias("refunds_home"),
        )
        .groupBy(*keys)
        .agg(F.sum("refunds_home").alias("refunds_home")),
        views.groupBy(*keys).agg(F.countDistinct("session_id").alias("sessions")),
    ]
    spend = inp.ad_spend.where("seller_id is not null").join(F.broadcast(sellers), "seller_id")
    spend = to_home(F.col("spend_original"), "currency_code", "date", fx, spend)
    parts.append(
        spend.select(
            "seller_id",
            F.col("date").alias("date_seller"),
            F.col("target_market").alias("market_code"),
            "channel",
            (F.col("spend_original").cast("double") * F.col("_fx_home")).alias("ad_spend_home"),
        )
        .groupBy(*keys)
        .agg(F.sum("ad_spend_home").alias("ad_spend_home"))
    )
    ships = inp.shipments.where("seller_id is not null and delivery_date is not null")
    parts.append(
        ships.select(
            "seller_id",
            F.col("delivery_date").alias("date_seller"),
            F.lit(None).cast("string").alias("market_code"),
            F.lit(None).cast("string").alias("channel"),
            F.col("is_delivered").cast("long").alias("delivered_shipments"),
            (F.col("is_delivered") & F.col("is_on_time")).cast("long").alias("on_time_shipments"),
            (F.col("is_delivered") & F.col("is_late")).cast("long").alias("late_shipments"),
        )
        .groupBy(*keys)
        .agg(*[F.sum(c).alias(c) for c in ("delivered_shipments", "on_time_shipments", "late_shipments")])
    )
    parts.append(
        inp.daily_sales.where("seller_id is not null")
        .groupBy(F.col("seller_id"), F.col("sales_date").alias("date_seller"), "market_code")
        .agg(
            F.sum(F.col("is_stockout").cast("long")).alias("stockout_days"),
            F.count(F.lit(1)).alias("sku_market_days"),
        )
        .withColumn("channel", F.lit(None).cast("string"))
    )
    unioned = None
    for part in parts:
        for m in MEASURES:
            if m not in part.columns:
                part = part.withColumn(m, F.lit(0).cast("double"))
        part = part.select(*keys, *[F.col(m).cast("double").alias(m) for m in MEASURES])
        unioned = part if unioned is None else unioned.unionByName(part)
    assert unioned is not None
    facts = unioned.groupBy(*keys).agg(*[F.sum(m).alias(m) for m in MEASURES])
    lanes = ships.select(
        "seller_id",
        "lane",
        F.col("delivery_date").alias("date_seller"),
        F.col("is_delivered").cast("long").alias("delivered"),
        (F.col("is_delivered") & F.col("is_late")).cast("long").alias("late"),
    )
    return {"facts": facts, "lines": lines, "views": views, "lanes": lanes}


def with_periods(df: DataFrame, date_col: str = "date_seller") -> DataFrame:
    """One row per input row and period type: ``period_type`` (week|month), ``period_start``, ``period_end``."""
    periods = F.array(
        F.struct(F.lit("week").alias("t"), F.date_trunc("week", F.col(date_col)).cast("date").alias("s")),
        F.struct(F.lit("month").alias("t"), F.trunc(F.col(date_col), "month").alias("s")),
    )
    out = df.withColumn("_p", F.explode(periods))
    out = out.withColumn("period_type", F.col("_p.t")).withColumn("period_start", F.col("_p.s")).drop("_p")
    return out.withColumn(
        "period_end",
        F.when(F.col("period_type") == "week", F.date_add("period_start", 6)).otherwise(F.last_day("period_start")),
    )


def sku_daily(lines: DataFrame, views: DataFrame, products: DataFrame, sellers: DataFrame, first, last) -> DataFrame:
    """Seller x SKU x local day for every SKU of the seller and every day of the data, zero rows included."""
    spark = lines.sparkSession
    days = spark.range(1).select(F.explode(F.sequence(F.lit(first), F.lit(last))).alias("date_seller"))
    grid = products.join(F.broadcast(sellers.select("seller_id", "home_currency_code")), "seller_id").crossJoin(days)
    sales = lines.groupBy("seller_id", "sku", "date_seller").agg(
        F.sum("units").alias("units"), F.countDistinct("order_id").alias("orders"), F.sum("gmv_home").alias("gmv_home")
    )
    viewed = views.groupBy("seller_id", "sku", "date_seller").agg(F.countDistinct("session_id").alias("sessions"))
    return (
        grid.join(sales, ["seller_id", "sku", "date_seller"], "left")
        .join(viewed, ["seller_id", "sku", "date_seller"], "left")
        .select(
            "seller_id",
            "sku",
            F.col("title").alias("sku_title"),
            "date_seller",
            "home_currency_code",
            F.coalesce("units", F.lit(0)).cast("long").alias("units"),
            F.coalesce("orders", F.lit(0)).cast("long").alias("orders"),
            F.coalesce("gmv_home", F.lit(0.0)).alias("gmv_home"),
            F.coalesce("sessions", F.lit(0)).cast("long").alias("sessions"),
        )
    )


# --- periods -----------------------------------------------------------------------------------------------------


def _ratio(num: str, den: str) -> Column:
    return F.when(F.col(den) > 0, F.col(num) / F.col(den))


def derive(df: DataFrame) -> DataFrame:
    """Ratios of a period row, each from its own numerator and denominator."""
    return (
        df.withColumn("aov_home", _ratio("gmv_home", "orders"))
        .withColumn("aov_reporting", _ratio("gmv_reporting", "orders"))
        .withColumn("unit_session_conversion", _ratio("units", "sessions"))
        .withColumn("order_conversion", _ratio("orders", "sessions"))
        .withColumn("refund_rate", _ratio("refunded_orders", "orders"))
        .withColumn("on_time_rate", _ratio("on_time_shipments", "delivered_shipments"))
        .withColumn("roas", _ratio("paid_gmv_home", "ad_spend_home"))
        .withColumn("stockout_share", _ratio("stockout_days", "sku_market_days"))
    )


def period_spine(sellers: DataFrame, first, last) -> DataFrame:
    spark = sellers.sparkSession
    days = spark.range(1).select(F.explode(F.sequence(F.lit(first), F.lit(last))).alias("date_seller"))
    periods = with_periods(days).select("period_type", "period_start", "period_end").distinct()
    return sellers.select("seller_id").crossJoin(periods)


def seller_periods(facts: DataFrame, sellers: DataFrame, first, last, last_complete_day) -> DataFrame:
    """The scorecard: one row per seller x period (every period of the data, zero rows for idle sellers)."""
    sums = (
        with_periods(facts)
        .groupBy("seller_id", "period_type", "period_start")
        .agg(*[F.sum(m).alias(m) for m in MEASURES])
    )
    df = period_spine(sellers, first, last).join(sums, ["seller_id", "period_type", "period_start"], "left")
    df = df.fillna(0.0, subset=list(MEASURES))
    for m in ("orders", "units", "refunded_orders", "sessions", "delivered_shipments", "on_time_shipments"):
        df = df.withColumn(m, F.col(m).cast("long"))
    df = derive(df).withColumn("is_complete", F.col("period_end") <= F.lit(last_complete_day))
    w = Window.partitionBy("seller_id", "period_type").orderBy("period_start")
    df = df.withColumn("gmv_home_previous", F.lag("gmv_home").over(w))
    df = df.withColumn("orders_previous", F.lag("orders").over(w))
    df = df.withColumn("sessions_previous", F.lag("sessions").over(w))
    ly = df.select(
        "seller_id",
        "period_type",
        F.when(F.col("period_type") == "week", F.date_add("period_start", 364))
        .otherwise(F.add_months("period_start", 12))
        .alias("period_start"),
        F.col("gmv_home").alias("gmv_home_last_year"),
    )
    df = df.join(ly, ["seller_id", "period_type", "period_start"], "left")
    df = df.withColumn(
        "gmv_growth_previous",
        F.when(F.col("gmv_home_previous") > 0, F.col("gmv_home") / F.col("gmv_home_previous") - 1),
    )
    df = df.withColumn(
        "gmv_growth_last_year",
        F.when(F.col("gmv_home_last_year") > 0, F.col("gmv_home") / F.col("gmv_home_last_year") - 1),
    )
    df = df.join(F.broadcast(sellers), "seller_id")
    return health_score(df)


def health_score(df: DataFrame) -> DataFrame:
    """Health 0-100: the weighted mean of the available components (see :data:`HEALTH_WEIGHTS`):

    growth = 0.5 + GMV growth vs previous period, clipped to 0..1 (-50% -> 0, +50% -> 1);
    conversion = percentile of unit-session conversion among all sellers with sessions in the period;
    refunds = 1 - refund rate / 20%, clipped; delivery = on-time delivery rate; stock = 1 - stockout share.
    """
    # rank among the sellers with sessions in the period (the others have no conversion)
    active = Window.partitionBy("period_type", "period_start", F.col("sessions") > 0)
    n_active = F.count(F.lit(1)).over(active)
    rank = F.rank().over(active.orderBy("unit_session_conversion")) - 1
    df = df.withColumn(
        "health_conversion",
        F.when(F.col("sessions") > 0, F.when(n_active > 1, rank / (n_active - 1)).otherwise(F.lit(0.5))),
    )

    def clip(c: Column) -> Column:
        return F.greatest(F.lit(0.0), F.least(F.lit(1.0), c))

    df = (
        df.withColumn("health_growth", clip(F.lit(0.5) + F.col("gmv_growth_previous")))
        .withColumn(
            "health_refunds", F.when(F.col("orders") > 0, clip(1 - F.col("refund_rate") / REFUND_RATE_ZERO_SCORE))
        )
        .withColumn("health_delivery", F.col("on_time_rate"))
        .withColumn("health_stock", F.when(F.col("sku_market_days") > 0, 1 - F.col("stockout_share")))
    )
    num: Column = F.lit(0.0)
    den: Column = F.lit(0.0)
    for name, weight in HEALTH_WEIGHTS.items():
        col = F.col(f"health_{name}")
        num = num + F.coalesce(col * weight, F.lit(0.0))
        den = den + F.when(col.isNotNull(), F.lit(weight)).otherwise(0.0)
    return df.withColumn("health_score", F.when(den > 0, F.round(100 * num / den, 1)))


def sku_periods(sku_day: DataFrame) -> DataFrame:
    """SKU x period (zero rows kept) with the SKU's rank by GMV within the seller's period (1 = top)."""
    df = (
        with_periods(sku_day)
        .groupBy("seller_id", "sku", "sku_title", "home_currency_code", "period_type", "period_start", "period_end")
        .agg(
            F.sum("units").alias("units"),
            F.sum("orders").alias("orders"),
            F.sum("gmv_home").alias("gmv_home"),
            F.sum("sessions").alias("sessions"),
        )
    )
    w = Window.partitionBy("seller_id", "period_type", "period_start")
    return df.withColumn("gmv_rank", F.row_number().over(w.orderBy(F.col("gmv_home").desc(), "sku"))).withColumn(
        "gmv_rank_from_bottom", F.row_number().over(w.orderBy(F.col("gmv_home").asc(), "sku"))
    )


def benchmarks(facts: DataFrame, sellers: DataFrame) -> DataFrame:
    """The seller's percentile (0..1, 1 = best) per metric within its main category x market cohort and period.

    Only sellers active in the market (a session or an order) form the cohort; percentiles of cohorts under
    :data:`MIN_COHORT` sellers are null (never shown). No other seller's identity or figure is stored.
    """
    market = (
        with_periods(facts.where("market_code is not null"))
        .groupBy("seller_id", "market_code", "period_type", "period_start")
        .agg(*[F.sum(m).alias(m) for m in ("orders", "units", "gmv_reporting", "refunded_orders", "sessions")])
    )
    market = market.where("orders > 0 or sessions > 0").join(
        F.broadcast(sellers.select("seller_id", "main_category")), "seller_id"
    )
    market = (
        market.withColumn("aov_reporting", _ratio("gmv_reporting", "orders"))
        .withColumn("unit_session_conversion", _ratio("units", "sessions"))
        .withColumn("refund_rate", _ratio("refunded_orders", "orders"))
    )
    cohort = Window.partitionBy("main_category", "market_code", "period_type", "period_start")
    market = _materialise(market.withColumn("cohort_size", F.count(F.lit(1)).over(cohort)))  # read per metric
    rows = []
    for metric, (column, higher_better) in BENCHMARK_METRICS.items():
        valued = market.where(F.col(column).isNotNull())
        n = F.count(F.lit(1)).over(cohort)
        order = F.col(column).asc() if higher_better else F.col(column).desc()
        pct = F.when(n > 1, (F.rank().over(cohort.orderBy(order)) - 1) / (n - 1)).otherwise(F.lit(0.5))
        rows.append(
            valued.select(
                "seller_id",
                "market_code",
                "main_category",
                "period_type",
                "period_start",
                F.lit(metric).alias("metric"),
                F.col(column).cast("double").alias("value"),
                "cohort_size",
                F.when(F.col("cohort_size") >= MIN_COHORT, F.round(pct, 4)).alias("percentile"),
            )
        )
    out = rows[0]
    for r in rows[1:]:
        out = out.unionByName(r)
    return out.withColumn("is_shown", F.col("cohort_size") >= MIN_COHORT)


# --- alerts, drivers, recommendations ----------------------------------------------------------------------------


def _median(arr: Column) -> Column:
    s = F.array_sort(arr)
    n = F.size(s)
    lo = F.element_at(s, (F.floor((n - 1) / 2) + 1).cast("int"))
    hi = F.element_at(s, (F.ceil((n - 1) / 2) + 1).cast("int"))
    return (lo + hi) / 2


def robust_z(df: DataFrame, value: str, keys: list[str], n_col: str = "period_type") -> DataFrame:
    """Add ``<value>_baseline`` (median of the previous complete periods), ``<value>_mad`` and ``<value>_z``."""
    w = Window.partitionBy(*keys).orderBy("period_start").rowsBetween(-max(TRAILING_PERIODS.values()), -1)
    hist = F.collect_list(F.when(F.col("is_complete"), F.col(value))).over(w)
    df = df.withColumn("_hist", hist)
    # keep only the last N of the type's window
    df = df.withColumn(
        "_hist",
        F.when(F.col(n_col) == "week", F.slice("_hist", -TRAILING_PERIODS["week"], TRAILING_PERIODS["week"])).otherwise(
            F.slice("_hist", -TRAILING_PERIODS["month"], TRAILING_PERIODS["month"])
        ),
    )
    df = df.withColumn(f"{value}_baseline", F.when(F.size("_hist") >= MIN_BASELINE_PERIODS, _median(F.col("_hist"))))
    df = df.withColumn(
        f"{value}_mad",
        F.when(
            F.size("_hist") >= MIN_BASELINE_PERIODS,
            _median(F.transform("_hist", lambda x: F.abs(x - F.col(f"{value}_baseline")))),
        ),
    )
    return df.withColumn(
        f"{value}_z",
        F.when(
            F.col(f"{value}_mad") > 0, (F.col(value) - F.col(f"{value}_baseline")) / (MAD_SCALE * F.col(f"{value}_mad"))
        ),
    ).drop("_hist")


def _alert_rows(
    df: DataFrame, alert_type: str, value: str, condition: Column, severity: Column, subject: Column
) -> DataFrame:
    return df.where(condition).select(
        "seller_id",
        "period_type",
        "period_start",
        F.lit(alert_type).alias("alert_type"),
        severity.alias("severity"),
        subject.cast("string").alias("subject"),
        F.col(value).cast("double").alias("metric_value"),
        F.col(f"{value}_baseline").cast("double").alias("baseline_value"),
        F.round(F.col(f"{value}_z"), 2).alias("z_score"),
    )


def alerts(
    periods: DataFrame, lanes: DataFrame, inventory_alerts: DataFrame | None, products: DataFrame | None = None
) -> DataFrame:
    """Sudden drops in sessions or GMV and refund spikes (robust z-score vs the trailing baseline), lanes whose
    late share rose, and SKUs at stockout risk from the forecasting job (``gold/inventory_alerts``) when it exists."""
    keys = ["seller_id", "period_type"]
    df = periods.where("is_complete").select(
        "seller_id", "period_type", "period_start", "is_complete", "sessions", "gmv_home", "refund_rate", "orders"
    )
    df = df.withColumn("sessions", F.col("sessions").cast("double"))
    for v in ("sessions", "gmv_home", "refund_rate"):
        df = robust_z(df, v, keys)
    df = _materialise(df)  # three alert types read it
    out = []
    for v, kind in (("sessions", "traffic_drop"), ("gmv_home", "sales_drop")):
        z, base = F.col(f"{v}_z"), F.col(f"{v}_baseline")
        flat_drop = (F.col(f"{v}_mad") == 0) & (base > 0) & (F.col(v) <= DROP_RATIO_WHEN_FLAT * base)
        cond = base.isNotNull() & ((z <= Z_DROP) | flat_drop)
        sev = F.when((z <= 2 * Z_DROP) | (F.col(v) == 0), "high").otherwise("medium")
        out.append(_alert_rows(df, kind, v, cond, sev, F.lit(None)))
    rz = F.col("refund_rate_z")
    cond = (
        (F.col("refund_rate") >= REFUND_SPIKE_MIN_RATE)
        & F.col("refund_rate_baseline").isNotNull()
        & (
            (rz >= Z_SPIKE)
            | ((F.col("refund_rate_mad") == 0) & (F.col("refund_rate") > 2 * F.col("refund_rate_baseline")))
        )
    )
    out.append(_alert_rows(df, "refund_spike", "refund_rate", cond, F.lit("medium"), F.lit(None)))

    lane = (
        with_periods(lanes)
        .groupBy("seller_id", "lane", "period_type", "period_start", "period_end")
        .agg(F.sum("delivered").alias("delivered"), F.sum("late").alias("late"))
    )
    complete_ends = periods.select("period_type", "period_start", "is_complete").distinct()
    lane = lane.join(complete_ends, ["period_type", "period_start"]).where("is_complete")
    lane = lane.withColumn("late_share", _ratio("late", "delivered"))
    lane = robust_z(lane, "late_share", ["seller_id", "lane", "period_type"])
    cond = (
        (F.col("delivered") >= LANE_MIN_SHIPMENTS)
        & F.col("late_share_baseline").isNotNull()
        & (F.col("late_share") - F.col("late_share_baseline") >= LANE_LATE_SHARE_RISE)
        & (F.coalesce(F.col("late_share_z"), F.lit(99.0)) >= 2.0)
    )
    out.append(_alert_rows(lane, "lane_delay", "late_share", cond, F.lit("medium"), F.col("lane")))
    if inventory_alerts is not None and products is not None:
        out.append(stockout_risk_alerts(inventory_alerts, periods, products))
    result = out[0]
    for o in out[1:]:
        result = result.unionByName(o)
    return result


def stockout_risk_alerts(inventory_alerts: DataFrame, periods: DataFrame, products: DataFrame) -> DataFrame:
    """Alerts from the forecasting job's ``gold/inventory_alerts`` (one row per SKU x warehouse x alert type as of
    the forecast origin: ``sku, as_of_date, alert, severity, days_of_cover``; the SKU's seller from the product
    catalogue): its ``stockout_risk`` rows, attached to the seller period of the as-of date."""
    cols = set(inventory_alerts.columns)
    missing = {"sku", "as_of_date", "alert", "severity"} - cols
    if missing:
        raise ValueError(f"gold/inventory_alerts lacks column(s) {', '.join(sorted(missing))} that insights reads")
    metric = F.col("days_of_cover") if "days_of_cover" in cols else F.lit(None)
    risk = F.when(F.col("severity") == "high", F.lit(1.0)).otherwise(F.lit(0.5))
    at_risk = inventory_alerts.where(F.col("alert") == "stockout_risk")
    if "seller_id" not in cols:
        at_risk = at_risk.join(F.broadcast(products.select("sku", "seller_id")), "sku")
    df = with_periods(at_risk.withColumn("date_seller", F.col("as_of_date").cast("date")))
    df = df.join(
        periods.select("seller_id", "period_type", "period_start").distinct(),
        ["seller_id", "period_type", "period_start"],
    )
    return df.select(
        "seller_id",
        "period_type",
        "period_start",
        F.lit("stockout_risk").alias("alert_type"),
        F.when(risk >= 0.8, "high").otherwise("medium").alias("severity"),
        F.col("sku").cast("string").alias("subject"),
        metric.cast("double").alias("metric_value"),
        risk.cast("double").alias("baseline_value"),
        F.lit(None).cast("double").alias("z_score"),
    ).dropDuplicates(["seller_id", "period_type", "period_start", "subject"])


def drivers(periods: DataFrame, facts: DataFrame, lines: DataFrame) -> DataFrame:
    """GMV change vs the previous period: traffic x conversion x AOV (log-mean Divisia, the three add up to the
    change when all six inputs are positive) and the change by channel, market, channel x market and SKU."""
    p = periods.where("gmv_home_previous is not null").select(
        "seller_id",
        "period_type",
        "period_start",
        "gmv_home",
        "gmv_home_previous",
        "orders",
        "orders_previous",
        "sessions",
        "sessions_previous",
    )
    positive = " and ".join(
        f"{c} > 0"
        for c in ("gmv_home", "gmv_home_previous", "orders", "orders_previous", "sessions", "sessions_previous")
    )
    lm = F.when(F.abs(F.col("gmv_home") - F.col("gmv_home_previous")) < 1e-9, F.col("gmv_home")).otherwise(
        (F.col("gmv_home") - F.col("gmv_home_previous")) / (F.log("gmv_home") - F.log("gmv_home_previous"))
    )
    factors = {
        "traffic": F.log(F.col("sessions") / F.col("sessions_previous")),
        "conversion": F.log(
            (F.col("orders") / F.col("sessions")) / (F.col("orders_previous") / F.col("sessions_previous"))
        ),
        "aov": F.log((F.col("gmv_home") / F.col("orders")) / (F.col("gmv_home_previous") / F.col("orders_previous"))),
    }
    base = p.where(positive).withColumn("_lm", lm)
    out = []
    for name, factor in factors.items():
        out.append(
            base.select(
                "seller_id",
                "period_type",
                "period_start",
                F.lit("factor").alias("dimension"),
                F.lit(name).alias("key"),
                F.lit(None).cast("double").alias("gmv_home"),
                F.lit(None).cast("double").alias("gmv_home_previous"),
                (F.col("_lm") * factor).alias("change_home"),
            )
        )
    by_period = _materialise(with_periods(facts.where("gmv_home <> 0")))  # three dimensions read it
    keyed = {
        "channel": by_period.select(
            "seller_id", "period_type", "period_start", F.col("channel").alias("key"), "gmv_home"
        ),
        "market": by_period.select(
            "seller_id", "period_type", "period_start", F.col("market_code").alias("key"), "gmv_home"
        ),
        "channel_market": by_period.select(
            "seller_id",
            "period_type",
            "period_start",
            F.concat_ws("|", "channel", "market_code").alias("key"),
            "gmv_home",
        ),
        "sku": with_periods(lines.where("gmv_home <> 0")).select(
            "seller_id", "period_type", "period_start", F.col("sku").alias("key"), "gmv_home"
        ),
    }
    w = Window.partitionBy("seller_id", "period_type", "key").orderBy("period_start")
    for dim, df in keyed.items():
        sums = df.groupBy("seller_id", "period_type", "period_start", "key").agg(F.sum("gmv_home").alias("gmv_home"))
        spine = periods.select("seller_id", "period_type", "period_start").join(
            sums.select("seller_id", "period_type", "key").distinct(), ["seller_id", "period_type"]
        )
        g = spine.join(sums, ["seller_id", "period_type", "period_start", "key"], "left").fillna(
            0.0, subset=["gmv_home"]
        )
        g = g.withColumn("gmv_home_previous", F.lag("gmv_home").over(w)).where("gmv_home_previous is not null")
        g = g.withColumn("change_home", F.col("gmv_home") - F.col("gmv_home_previous")).where("change_home <> 0")
        rank = Window.partitionBy("seller_id", "period_type", "period_start").orderBy(
            F.abs("change_home").desc(), "key"
        )
        g = g.withColumn("_r", F.row_number().over(rank)).where(f"_r <= {TOP_KEYS}").drop("_r")
        out.append(
            g.select(
                "seller_id",
                "period_type",
                "period_start",
                F.lit(dim).alias("dimension"),
                "key",
                "gmv_home",
                "gmv_home_previous",
                "change_home",
            )
        )
    result = out[0]
    for o in out[1:]:
        result = result.unionByName(o)
    total = p.select(
        "seller_id", "period_type", "period_start", (F.col("gmv_home") - F.col("gmv_home_previous")).alias("_total")
    )
    return (
        result.join(total, ["seller_id", "period_type", "period_start"])
        .withColumn("share_of_change", F.when(F.abs("_total") > 1e-9, F.col("change_home") / F.col("_total")))
        .drop("_total")
    )


def recommendations(
    alerts_df: DataFrame,
    facts: DataFrame,
    periods: DataFrame,
    attribution: DataFrame | None,
    sku_day: DataFrame,
    daily_sales: DataFrame,
) -> DataFrame:
    """Explicit rules: restock SKUs at stockout risk (forecasting job) or stocked out at the period's end; shift
    ad budget toward the channel with the highest ROAS under the data-driven attribution model (``gold/attribution``
    when it exists); investigate a lane whose delays rose; review refunds after a refund spike."""
    cols = [
        "seller_id",
        "period_type",
        "period_start",
        "rule",
        "priority",
        "subject",
        "metric_value",
        "reference_value",
    ]
    # rules that follow one alert type: (alert type, rule, priority, subject = the alert's subject or none)
    from_alerts = (
        ("stockout_risk", "restock_sku", 1, True),
        ("lane_delay", "investigate_lane", 2, True),
        ("refund_spike", "review_refunds", 2, False),
    )
    out = [
        alerts_df.where(F.col("alert_type") == alert_type).select(
            "seller_id",
            "period_type",
            "period_start",
            F.lit(rule).alias("rule"),
            F.lit(priority).alias("priority"),
            F.col("subject") if with_subject else F.lit(None).cast("string").alias("subject"),
            F.col("metric_value"),
            F.col("baseline_value").alias("reference_value"),
        )
        for alert_type, rule, priority, with_subject in from_alerts
    ]
    # SKUs out of stock (in any market) on the last day of the period
    ends = periods.select("seller_id", "period_type", "period_start", "period_end", "is_complete").where("is_complete")
    stocked_out = (
        daily_sales.where("is_stockout").select("seller_id", "sku", F.col("sales_date").alias("period_end")).distinct()
    )
    out.append(
        ends.join(stocked_out, ["seller_id", "period_end"]).select(
            "seller_id",
            "period_type",
            "period_start",
            F.lit("restock_stocked_out").alias("rule"),
            F.lit(1).alias("priority"),
            F.col("sku").alias("subject"),
            F.lit(None).cast("double").alias("metric_value"),
            F.lit(None).cast("double").alias("reference_value"),
        )
    )
    if attribution is not None:
        out.append(budget_shift(attribution, facts, periods))
    result = out[0].select(*cols)
    for o in out[1:]:
        result = result.unionByName(o.select(*cols))
    return result


def budget_shift(attribution: DataFrame, facts: DataFrame, periods: DataFrame) -> DataFrame:
    """Among the channels a seller advertises on, data-driven ROAS per channel in the seller's markets (attributed
    revenue of :data:`DATA_DRIVEN_MODEL` in ``gold/attribution`` / the seller's spend there); recommend a shift
    when best / worst >= :data:`ROAS_SHIFT_RATIO` (a ratio, so the revenue's reporting currency and the spend's
    home currency cancel out)."""
    missing = {"conversion_date", "market_code", "channel", "model", "revenue_reporting"} - set(attribution.columns)
    if missing:
        raise ValueError(f"gold/attribution lacks column(s) {', '.join(sorted(missing))} that insights reads")
    dd = attribution.where(F.col("model") == DATA_DRIVEN_MODEL).select(
        F.col("conversion_date").cast("date").alias("date_seller"),
        "market_code",
        "channel",
        F.col("revenue_reporting").cast("double").alias("revenue"),
    )
    spend = (
        with_periods(facts.where("ad_spend_home > 0"))
        .groupBy("seller_id", "period_type", "period_start", "channel", "market_code")
        .agg(F.sum("ad_spend_home").alias("spend"), F.sum("gmv_reporting").alias("_g"))
    )
    rev = (
        with_periods(dd)
        .groupBy("period_type", "period_start", "channel", "market_code")
        .agg(F.sum("revenue").alias("revenue"))
    )
    # channel ROAS: market-level attributed revenue / market-level spend is not seller specific; we rank the
    # seller's channels by the market's data-driven revenue per unit of the seller's spend share
    j = spend.join(rev, ["period_type", "period_start", "channel", "market_code"])
    ch = j.groupBy("seller_id", "period_type", "period_start", "channel").agg(
        (F.sum("revenue") / F.sum("spend")).alias("roas_dd")
    )
    w = Window.partitionBy("seller_id", "period_type", "period_start")
    ch = (
        ch.withColumn("_best", F.max("roas_dd").over(w))
        .withColumn("_worst", F.min("roas_dd").over(w))
        .withColumn("_n", F.count(F.lit(1)).over(w))
    )
    worst = ch.where("roas_dd = _worst").select(
        "seller_id", "period_type", "period_start", F.col("channel").alias("_from")
    )
    best = ch.where(f"roas_dd = _best and _n >= 2 and _worst > 0 and _best / _worst >= {ROAS_SHIFT_RATIO}")
    return (
        best.join(worst, ["seller_id", "period_type", "period_start"])
        .select(
            "seller_id",
            "period_type",
            "period_start",
            F.lit("shift_budget").alias("rule"),
            F.lit(1).alias("priority"),
            F.concat_ws("->", "_from", "channel").alias("subject"),
            F.col("_best").alias("metric_value"),
            F.col("_worst").alias("reference_value"),
        )
        .dropDuplicates(["seller_id", "period_type", "period_start"])
    )


# --- all ---------------------------------------------------------------------------------------------------------


def _materialise(df: DataFrame) -> DataFrame:
    """Compute now and cut the lineage: later steps re-plan a short plan instead of the whole history."""
    return df.localCheckpoint(eager=True)


def build_all(spark: SparkSession, inp: Inputs) -> dict[str, Any]:
    import datetime as _dt

    sellers = _materialise(latest_sellers(inp.sellers))
    products = _materialise(latest_products(inp.products))
    fx = _materialise(fx_daily(inp.fx_rates))
    daily = daily_facts(inp, sellers, products, fx)
    facts = _materialise(daily["facts"])
    lines = _materialise(daily["lines"])
    views = daily["views"]  # materialised by daily_facts
    lanes = _materialise(daily["lanes"])
    daily_sales = _materialise(inp.daily_sales.select("seller_id", "sku", "sales_date", "is_stockout"))
    bounds = lines.agg(F.min("date_seller"), F.max("date_seller")).first()
    if bounds is None or bounds[0] is None:
        raise ValueError("insights: silver/order_lines has no orders that are not cancelled")
    first, last = bounds[0], bounds[1]
    # the last seller-local day complete in every time zone: the day before the last UTC order day
    last_complete = inp.order_lines.agg(F.max("order_date")).first()[0] - _dt.timedelta(days=1)
    periods = _materialise(seller_periods(facts, sellers, first, last, last_complete))
    sku_day = _materialise(sku_daily(lines, views, products, sellers, first, last))
    alerts_df = _materialise(alerts(periods, lanes, inp.inventory_alerts, products))
    return {
        "seller_sku_daily": sku_day,
        "seller_periods": periods,
        "seller_sku_periods": sku_periods(sku_day),
        "seller_benchmarks": benchmarks(facts, sellers),
        "seller_alerts": alerts_df,
        "seller_drivers": drivers(periods, facts, lines),
        "seller_recommendations": recommendations(alerts_df, facts, periods, inp.attribution, sku_day, daily_sales),
    }
