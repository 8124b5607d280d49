"""Customer journeys in Spark: which touches lead to which conversion.

Pure ``DataFrame -> DataFrame`` functions (the job in :mod:`spark_jobs.attribution.job` does the I/O).

Rules (also in ``spark_jobs/README.md`` and the silver ``touchpoints`` model docs):

- A journey key is the stitched customer (``touchpoints.journey_key``: the customer_key, else
  ``anonymous:<anonymous_id>`` for visitors never linked to a customer). A conversion is an order not cancelled;
  its journey key is the ordering customer, its revenue the order's item value (lines after discounts) in the
  reporting currency, its date the order creation day in the reporting timezone.
- A touch is credited to the journey key's first conversion at or after it (same instant: the touch counts),
  if that conversion is at most ``lookback_days`` later (inclusive). So each touch feeds at most one
  conversion, and only touches after the key's previous conversion do.
- A conversion with no credited touch gets one synthetic ``direct`` touch at the order time (no session, no
  campaign), as the last-non-direct-click credit does: every conversion is attributed somewhere.
- Touches not credited to any conversion form non-converting journeys: per journey key, the touches between two
  conversions, split where two consecutive touches are more than ``lookback_days`` apart.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

DIRECT = "direct"
SECONDS_PER_DAY = 86_400
MONEY = T.DecimalType(38, 10)  # sums of money in decimal: exact, so independent of summation order

TOUCH_COLUMNS = ("journey_key", "session_id", "touch_at", "channel", "campaign_id")
CONVERSION_COLUMNS = ("journey_key", "order_id", "converted_at", "conversion_date", "market_code", "revenue")


class JourneyInputError(ValueError):
    """An input frame misses a column the journeys need."""


def _require(df: DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise JourneyInputError(f"{what} lacks column(s) {', '.join(missing)} (has {', '.join(df.columns)})")


def touches_from_silver(touchpoints: DataFrame) -> DataFrame:
    """The touches of silver ``touchpoints``: journey_key, session_id, touch_at, channel, campaign_id."""
    _require(touchpoints, TOUCH_COLUMNS, "silver touchpoints")
    return touchpoints.select(*TOUCH_COLUMNS).where(F.col("journey_key").isNotNull() & F.col("touch_at").isNotNull())


def conversions_from_silver(order_lines: DataFrame, timezone: str) -> DataFrame:
    """One row per order not cancelled from silver ``order_lines``: journey_key (the customer), order_id,
    converted_at (order creation, UTC), conversion_date (in ``timezone``), market_code, revenue (the lines'
    value in the reporting currency, decimal)."""
    _require(
        order_lines,
        ("order_id", "customer_key", "order_created_at", "market_code", "line_value_reporting", "is_cancelled"),
        "silver order_lines",
    )
    return (
        order_lines.where(~F.coalesce(F.col("is_cancelled"), F.lit(False)) & F.col("customer_key").isNotNull())
        .groupBy("order_id")
        .agg(
            F.first("customer_key").alias("journey_key"),
            F.min("order_created_at").alias("converted_at"),
            F.first("market_code").alias("market_code"),
            F.sum(F.col("line_value_reporting").cast(MONEY)).alias("revenue"),
        )
        .withColumn("conversion_date", F.to_date(F.from_utc_timestamp(F.col("converted_at"), timezone)))
        .select(*CONVERSION_COLUMNS)
    )


def _seconds(col: str) -> Column:
    return F.col(col).cast("timestamp").cast("double")


def assign_touches(touches: DataFrame, conversions: DataFrame, lookback_days: int) -> DataFrame:
    """Every touch with the conversion it is credited to (``order_id`` null if none) and its journey id.

    Returns journey_id (the order_id, or ``<journey_key>|<n>`` for a non-converting journey), order_id,
    journey_key, session_id, touch_at, channel, campaign_id. Conversions without a credited touch get their
    synthetic direct touch here.
    """
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, not {lookback_days}")
    _require(touches, TOUCH_COLUMNS, "touches")
    _require(conversions, CONVERSION_COLUMNS, "conversions")
    lookback_seconds = float(lookback_days * SECONDS_PER_DAY)
    events = touches.select(
        "journey_key",
        F.col("touch_at").alias("at"),
        F.lit(0).alias("kind"),
        F.col("session_id").alias("event_id"),
        "session_id",
        "channel",
        "campaign_id",
    ).unionByName(
        conversions.select(
            "journey_key",
            F.col("converted_at").alias("at"),
            F.lit(1).alias("kind"),
            F.col("order_id").alias("event_id"),
            F.lit(None).cast("string").alias("session_id"),
            F.lit(None).cast("string").alias("channel"),
            F.lit(None).cast("string").alias("campaign_id"),
        )
    )
    ordered = Window.partitionBy("journey_key").orderBy("at", "kind", "event_id")
    after = ordered.rowsBetween(Window.currentRow, Window.unboundedFollowing)
    before = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    is_conversion = F.col("kind") == 1
    events = events.select(
        "*",
        F.first(F.when(is_conversion, F.col("event_id")), ignorenulls=True).over(after).alias("next_order_id"),
        F.first(F.when(is_conversion, F.col("at")), ignorenulls=True).over(after).alias("next_converted_at"),
        F.sum("kind").over(before).alias("segment"),
    )
    touches_only = events.where(F.col("kind") == 0).withColumn(
        "order_id",
        F.when(
            F.col("next_order_id").isNotNull()
            & (_seconds("next_converted_at") - _seconds("at") <= F.lit(lookback_seconds)),
            F.col("next_order_id"),
        ),
    )
    credited = touches_only.where(F.col("order_id").isNotNull()).select(
        F.col("order_id").alias("journey_id"),
        "order_id",
        "journey_key",
        "session_id",
        F.col("at").alias("touch_at"),
        "channel",
        "campaign_id",
    )

    # non-converting: touches between two conversions, split at gaps longer than the lookback
    gap_window = Window.partitionBy("journey_key", "segment").orderBy("at", "event_id")
    uncredited = touches_only.where(F.col("order_id").isNull())
    gap = _seconds("at") - F.lag(_seconds("at")).over(gap_window)
    uncredited = uncredited.withColumn("starts", F.when(gap > F.lit(lookback_seconds), 1).otherwise(0))
    uncredited = uncredited.withColumn(
        "part", F.sum("starts").over(gap_window.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    )
    non_converting = uncredited.select(
        F.concat_ws("|", "journey_key", F.col("segment").cast("string"), F.col("part").cast("string")).alias(
            "journey_id"
        ),
        F.lit(None).cast("string").alias("order_id"),
        "journey_key",
        "session_id",
        F.col("at").alias("touch_at"),
        "channel",
        "campaign_id",
    )

    untouched = conversions.join(credited.select("order_id").distinct(), "order_id", "left_anti").select(
        F.col("order_id").alias("journey_id"),
        "order_id",
        "journey_key",
        F.lit(None).cast("string").alias("session_id"),
        F.col("converted_at").alias("touch_at"),
        F.lit(DIRECT).alias("channel"),
        F.lit(None).cast("string").alias("campaign_id"),
    )
    return credited.unionByName(untouched).unionByName(non_converting)


def number_touches(assigned: DataFrame) -> DataFrame:
    """Add ``position`` (1 = first touch), ``touches`` (path length) and ``channel_touches`` (touches of the
    same channel on the path) to each touch of :func:`assign_touches`."""
    journey = Window.partitionBy("journey_id")
    ordered = journey.orderBy("touch_at", F.col("session_id").asc_nulls_last())
    return assigned.select(
        "*",
        F.row_number().over(ordered).alias("position"),
        F.count(F.lit(1)).over(journey).alias("touches"),
        F.count(F.lit(1)).over(Window.partitionBy("journey_id", "channel")).alias("channel_touches"),
    )


def journey_paths(numbered: DataFrame, conversions: DataFrame) -> DataFrame:
    """One row per journey: journey_id, order_id (null: non-converting), path (array of channels in touch
    order), channels (sorted distinct channels of the path), converted (0/1), revenue (0 if not converted),
    untouched (1 for a conversion whose only touch is the synthetic direct one)."""
    paths = numbered.groupBy("journey_id").agg(
        F.first("order_id", ignorenulls=True).alias("order_id"),
        F.sort_array(F.collect_list(F.struct("position", "channel"))).alias("steps"),
        F.count("session_id").alias("sessions"),
    )
    paths = paths.select(
        "journey_id",
        "order_id",
        F.transform("steps", lambda s: s["channel"]).alias("path"),
        F.when(F.col("order_id").isNotNull() & (F.col("sessions") == 0), 1).otherwise(0).alias("untouched"),
    ).withColumn("channels", F.array_sort(F.array_distinct("path")))
    return (
        paths.join(conversions.select("order_id", "revenue"), "order_id", "left")
        .withColumn("converted", F.when(F.col("order_id").isNotNull(), 1).otherwise(0))
        .withColumn("revenue", F.coalesce(F.col("revenue"), F.lit(0).cast(MONEY)))
    )


def path_table(paths: DataFrame) -> DataFrame:
    """The aggregated path table Markov models need: one row per distinct path with conversions, revenue and
    nulls (journeys on the path that did not convert), plus untouched (conversions without a real touch)."""
    return paths.groupBy("path").agg(
        F.sum("converted").alias("conversions"),
        F.sum("revenue").alias("revenue"),
        F.sum(1 - F.col("converted")).alias("nulls"),
        F.sum("untouched").alias("untouched"),
    )
