"""Touch-level credit in Spark: each converting touch's share of its conversion under every model.

Input: the numbered touches of converting journeys (:func:`spark_jobs.attribution.journeys.number_touches`,
``order_id`` not null) joined with their conversion (converted_at, revenue). Output: one row per model x touch
with ``credit`` (the touch's share of the conversion; a conversion's credits sum to 1 under every model).

- ``first_touch`` / ``last_touch``: all credit to the first / last touch.
- ``last_non_direct``: all credit to the last touch whose channel is not ``direct``; the last touch if all are.
- ``linear``: 1 / touches each.
- ``position_based``: weights (first, middle, last), default 40/20/40: one touch gets 1; two touches split
  first : last in proportion first / (first + last) (halves if both are 0); three or more give the first and
  last touch their weights and split the middle weight equally among the middle touches.
- ``time_decay``: weight 2 ** (-age / half_life) (age = days from the touch to the conversion), normalised
  per conversion.
- ``markov_k``: the per-conversion allocation: the conversion is split among the distinct channels of its
  path in proportion to their removal effects (``models.per_conversion_shares``), and a channel's share is
  split equally among that channel's touches (so campaigns of the channel share it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.attribution.journeys import DIRECT, SECONDS_PER_DAY

HEURISTIC_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay")


def _position_based(first: float, middle: float, last: float) -> Column:
    n, pos = F.col("touches"), F.col("position")
    ends = first + last
    two_first, two_last = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
    two = F.when(pos == 1, F.lit(two_first)).otherwise(F.lit(two_last))
    many = (
        F.when(pos == 1, F.lit(first))
        .when(pos == n, F.lit(last))
        .otherwise(F.lit(middle) / (n - F.lit(2)).cast("double"))
    )
    return F.when(n == 1, F.lit(1.0)).when(n == 2, two).otherwise(many)


def heuristic_credits(
    touches: DataFrame,
    position_weights: Sequence[float] = (0.4, 0.2, 0.4),
    half_life_days: float = 7.0,
) -> DataFrame:
    """One row per heuristic model x converting touch: the touch's columns plus ``model`` and ``credit``."""
    first, middle, last = (float(w) for w in position_weights)
    if len(position_weights) != 3 or min(first, middle, last) < 0 or abs(first + middle + last - 1) > 1e-9:
        raise ValueError(f"position_weights must be three non-negative weights summing to 1, not {position_weights}")
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, not {half_life_days}")
    journey = Window.partitionBy("journey_id")
    age_days = (
        F.col("converted_at").cast("timestamp").cast("double") - F.col("touch_at").cast("timestamp").cast("double")
    ) / F.lit(float(SECONDS_PER_DAY))
    decay = F.pow(F.lit(2.0), -age_days / F.lit(float(half_life_days)))
    last_non_direct = F.coalesce(
        F.max(F.when(F.col("channel") != F.lit(DIRECT), F.col("position"))).over(journey), F.col("touches")
    )
    base = touches.select(
        "*",
        F.when(F.col("position") == 1, 1.0).otherwise(0.0).alias("first_touch"),
        F.when(F.col("position") == F.col("touches"), 1.0).otherwise(0.0).alias("last_touch"),
        F.when(F.col("position") == last_non_direct, 1.0).otherwise(0.0).alias("last_non_direct"),
        (F.lit(1.0) / F.col("touches").cast("double")).alias("linear"),
        _position_based(first, middle, last).alias("position_based"),
        (decay / F.sum(decay).over(journey)).alias("time_decay"),
    )
    stacked = F.explode(
        F.array(*[F.struct(F.lit(m).alias("model"), F.col(m).cast("double").alias("credit")) for m in HEURISTIC_MODELS])
    )
    keep = list(touches.columns)
    return base.select(*keep, stacked.alias("m")).select(*keep, "m.model", "m.credit")


def share_table(
    spark: SparkSession, model: str, channel_sets: Sequence[tuple[str, ...]], shares: Sequence[Mapping[str, float]]
) -> DataFrame:
    """A small frame (model, channels, channel, share) from per-conversion shares of each distinct channel set."""
    rows = [
        (model, list(channels), channel, float(split.get(channel, 0.0)))
        for channels, split in zip(channel_sets, shares, strict=True)
        for channel in channels
    ]
    schema = T.StructType(
        [
            T.StructField("model", T.StringType()),
            T.StructField("channels", T.ArrayType(T.StringType())),
            T.StructField("channel", T.StringType()),
            T.StructField("share", T.DoubleType()),
        ]
    )
    return spark.createDataFrame(rows, schema)


def markov_credits(touches: DataFrame, paths: DataFrame, shares: DataFrame) -> DataFrame:
    """One row per Markov model x converting touch: the channel's share of the conversion (looked up by the
    path's distinct channel set in the broadcast ``shares``) divided by the channel's touches on the path."""
    with_sets = touches.join(paths.select("journey_id", "channels"), "journey_id")
    joined = with_sets.join(F.broadcast(shares), ["channels", "channel"])
    credit = F.col("share") / F.col("channel_touches").cast("double")
    return joined.select(*touches.columns, "model", credit.alias("credit"))
