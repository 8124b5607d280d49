"""The attribution job: silver touchpoints and orders -> journeys -> every model -> gold Delta tables.

Runs as a Spark application (``python -m spark_jobs.attribution [--master spark://...]`` or spark-submit), as the
gold-layer job ``attribution`` (``lakehouse build --layer gold``) and from ``lakehouse attribution``.

Data flow (all row-level work in Spark; the driver only sees the distinct-path table and channel sets):

1. journeys (:mod:`spark_jobs.attribution.journeys`) from ``lake/silver/touchpoints`` and ``lake/silver/order_lines``;
2. heuristic credit per touch (:mod:`spark_jobs.attribution.credit`);
3. Markov order 1..K: the distinct paths with their conversions, revenue and nulls are aggregated in Spark and
   collected (at most a few hundred thousand rows), solved exactly by :func:`spark_jobs.attribution.models.markov`;
   the per-conversion shares of every distinct channel set (at most 2^channels, ~1000) are computed on the
   driver and broadcast back to credit each touch;
4. gold tables, overwritten through the Spark -> Delta bridge:

   - ``gold/attribution``: model x conversion_date (reporting timezone) x market_code x channel x campaign_id
     -> conversions, revenue_reporting (credited, so fractional), partitioned by model;
   - ``gold/attribution_removal_effects``: model x channel -> removal effects and the aggregate allocation;
   - ``gold/attribution_transitions``: model x from_state x to_state -> journeys, probability.

Credit and money are summed as fixed-point integers (1e-12 conversion, 1e-6 currency unit), so totals do not
depend on Spark's summation order: the same input gives identical tables.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.delta import table_exists
from lakehouse.settings import Settings, get_settings
from spark_jobs.attribution import credit, journeys, models

GOLD_TABLES = ("attribution", "attribution_removal_effects", "attribution_transitions")
# Credit and money are summed as fixed-point integers (exact, so independent of Spark's summation order, and much
# faster than decimal(38, x)): credit in 1e-12 of a conversion, revenue in 1e-6 of the reporting currency.
CREDIT_UNITS = 10**12
MONEY_UNITS = 10**6
DEFAULT_ORDER = 3

ATTRIBUTION_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType()),
        T.StructField("conversion_date", T.DateType()),
        T.StructField("market_code", T.StringType()),
        T.StructField("channel", T.StringType()),
        T.StructField("campaign_id", T.StringType()),
        T.StructField("conversions", T.DoubleType()),
        T.StructField("revenue_reporting", T.DoubleType()),
        T.StructField("touches", T.LongType()),
    ]
)
REMOVAL_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType()),
        T.StructField("markov_order", T.IntegerType()),
        T.StructField("channel", T.StringType()),
        T.StructField("removal_effect", T.DoubleType()),
        T.StructField("normalized", T.DoubleType()),
        T.StructField("revenue_removal_effect", T.DoubleType()),
        T.StructField("revenue_normalized", T.DoubleType()),
        T.StructField("conversions", T.DoubleType()),
        T.StructField("revenue_reporting", T.DoubleType()),
        T.StructField("conversion_probability", T.DoubleType()),
    ]
)
TRANSITION_SCHEMA = T.StructType(
    [
        T.StructField("model", T.StringType()),
        T.StructField("markov_order", T.IntegerType()),
        T.StructField("from_state", T.StringType()),
        T.StructField("to_state", T.StringType()),
        T.StructField("journeys", T.DoubleType()),
        T.StructField("probability", T.DoubleType()),
    ]
)


@dataclass
class AttributionOutputs:
    """What :func:`attribute` computes: the three gold frames, the touch-level credits and counts."""

    attribution: DataFrame
    removal_effects: DataFrame
    transitions: DataFrame
    credits: DataFrame  # model, journey_id, order_id, session_id, touch_at, channel, campaign_id, ..., credit
    paths: DataFrame  # one row per journey: journey_id, order_id, path, channels, converted, revenue
    stats: dict[str, Any] = field(default_factory=dict)
    markov: dict[int, models.MarkovResult] = field(default_factory=dict)
    cached: list[DataFrame] = field(default_factory=list)

    def unpersist(self) -> None:
        for df in self.cached:
            df.unpersist()


def _say(echo: bool, message: str) -> None:
    if echo:
        print(f"[attribution] {message}", flush=True)


def _collect_path_table(paths: DataFrame) -> pd.DataFrame:
    """The distinct-path table on the driver (through Arrow), sorted by path so the Markov input is deterministic."""
    table = (
        journeys.path_table(paths)
        .select(
            "path",
            F.col("conversions").cast("double").alias("conversions"),
            F.col("revenue").cast("double").alias("revenue"),
            F.col("nulls").cast("double").alias("nulls"),
            F.col("untouched").cast("long").alias("untouched"),
        )
        .toPandas()
    )
    table["path"] = [tuple(p) for p in table["path"]]
    return table.sort_values("path", ignore_index=True)


def attribute(
    spark: SparkSession,
    touches: DataFrame,
    conversions: DataFrame,
    *,
    lookback_days: int = 30,
    orders: Sequence[int] = (1, 2, 3),
    position_weights: Sequence[float] = models.DEFAULT_POSITION_WEIGHTS,
    half_life_days: float = 7.0,
    echo: bool = False,
) -> AttributionOutputs:
    """Every model on the journeys of ``touches`` (journeys.TOUCH_COLUMNS) and ``conversions``
    (journeys.CONVERSION_COLUMNS). Call ``unpersist()`` on the result when done with it."""
    orders = sorted(set(orders))
    if not orders or not set(orders) <= set(range(1, models.MAX_ORDER + 1)):
        raise ValueError(f"Markov orders must be within 1..{models.MAX_ORDER}, got {list(orders)}")
    conversions = conversions.cache()
    numbered = journeys.number_touches(journeys.assign_touches(touches, conversions, lookback_days)).cache()
    paths = journeys.journey_paths(numbered, conversions).cache()
    cached = [conversions, numbered, paths]

    started = time.perf_counter()
    table = _collect_path_table(paths)  # the one action before the writes: everything below derives from it
    journeys_per_path = table["conversions"] + table["nulls"]
    stats: dict[str, Any] = {
        "journeys": int(journeys_per_path.sum()),
        "conversions": int(table["conversions"].sum()),
        "non_converting_journeys": int(table["nulls"].sum()),
        "revenue_reporting": float(table["revenue"].sum()),
        "touches": int((table["path"].map(len) * journeys_per_path).sum()),
        "converting_touches": int((table["path"].map(len) * table["conversions"]).sum()),
        "conversions_without_touch": int(table["untouched"].sum()),
        "distinct_paths": len(table),
        "lookback_days": lookback_days,
    }
    _say(
        echo,
        f"{stats['journeys']:,} journeys ({stats['conversions']:,} converting, "
        f"{stats['conversions_without_touch']:,} of them credited to direct for lack of a touch), "
        f"{stats['touches']:,} touches, {stats['distinct_paths']:,} distinct paths "
        f"({time.perf_counter() - started:.1f}s)",
    )
    table = table.drop(columns="untouched")
    converting_paths = table.loc[table["conversions"] > 0, "path"]
    channel_sets = sorted({tuple(sorted(set(path))) for path in converting_paths})

    converting = numbered.where(F.col("order_id").isNotNull()).join(
        conversions.select("order_id", "converted_at", "conversion_date", "market_code", "revenue"), "order_id"
    )
    heuristic = credit.heuristic_credits(converting, position_weights, half_life_days)

    started = time.perf_counter()
    results: dict[int, models.MarkovResult] = {}
    share_frames, removal_rows, transition_frames = [], [], []
    for k in orders:
        result = results[k] = models.markov(table, order=k)
        name = f"markov_{k}"
        shares = models.per_conversion_shares(channel_sets, result.removal_effect_map()) if channel_sets else []
        share_frames.append(credit.share_table(spark, name, channel_sets, shares))
        effects = result.removal_effects.merge(result.attribution, on="channel")
        for r in effects.sort_values("channel").itertuples(index=False):
            removal_rows.append(
                (
                    name,
                    k,
                    r.channel,
                    float(r.removal_effect),
                    float(r.normalized),
                    float(r.revenue_removal_effect),
                    float(r.revenue_normalized),
                    float(r.conversions),
                    float(r.revenue),
                    float(result.conversion_probability),
                )
            )
        transition_frames.append(result.transitions.assign(model=name, markov_order=k))
    stats["markov_seconds"] = round(time.perf_counter() - started, 3)
    _say(echo, f"Markov orders {orders} solved on {len(table):,} distinct paths in {stats['markov_seconds']:.1f}s")

    shares_df = share_frames[0]
    for frame in share_frames[1:]:
        shares_df = shares_df.unionByName(frame)
    markov = credit.markov_credits(converting, paths, shares_df)
    credits = heuristic.unionByName(markov.select(*heuristic.columns))

    touch_credit = F.round(F.col("credit") * F.lit(float(CREDIT_UNITS))).cast("long")
    revenue_credit = F.round(F.col("credit") * F.col("revenue").cast("double") * F.lit(float(MONEY_UNITS))).cast("long")
    attribution = (
        credits.groupBy("model", "conversion_date", "market_code", "channel", "campaign_id")
        .agg(
            (F.sum(touch_credit).cast("double") / F.lit(float(CREDIT_UNITS))).alias("conversions"),
            (F.sum(revenue_credit).cast("double") / F.lit(float(MONEY_UNITS))).alias("revenue_reporting"),
            F.sum(F.when(F.col("credit") > 0, 1).otherwise(0)).cast("long").alias("touches"),
        )
        .select(*ATTRIBUTION_SCHEMA.fieldNames())
    )

    transitions = pd.concat(transition_frames, ignore_index=True) if transition_frames else pd.DataFrame()
    transition_rows = [
        (r.model, int(r.markov_order), str(r.from_state), str(r.to_state), float(r.count), float(r.probability))
        for r in transitions.itertuples(index=False)
    ]
    return AttributionOutputs(
        attribution=attribution,
        removal_effects=spark.createDataFrame(removal_rows, REMOVAL_SCHEMA),
        transitions=spark.createDataFrame(transition_rows, TRANSITION_SCHEMA),
        credits=credits,
        paths=paths,
        stats=stats,
        markov=results,
        cached=cached,
    )


def gold_path(settings: Settings, table: str) -> str:
    return str(settings.paths.table("gold", table))


def run(
    settings: Settings | None = None,
    *,
    echo: bool = True,
    master: str | None = None,
    lookback_days: int | None = None,
    order: int = DEFAULT_ORDER,
    position_weights: Sequence[float] = models.DEFAULT_POSITION_WEIGHTS,
    half_life_days: float = 7.0,
) -> dict:
    """Run the job on the lake of ``settings`` and overwrite the gold tables; returns a JSON-able summary
    ``{"tables": {"gold/attribution": version, ...}, "journeys": n, "conversions": n, ...}``.

    ``lookback_days`` defaults to ``LAKEHOUSE_ATTRIBUTION_LOOKBACK_DAYS`` (30); ``order`` K writes ``markov_1`` to
    ``markov_K``. ``master`` (default ``LAKEHOUSE_SPARK_MASTER``) only applies when no Spark session runs yet.
    """
    from lakehouse.spark import get_spark, read_delta, write_delta

    settings = settings or get_settings()
    lookback = settings.attribution_lookback_days if lookback_days is None else int(lookback_days)
    if not 1 <= order <= models.MAX_ORDER:
        raise ValueError(f"order must be 1 to {models.MAX_ORDER}, got {order}")
    started = time.perf_counter()
    silver = {name: settings.paths.table("silver", name) for name in ("touchpoints", "order_lines")}
    for name, path in silver.items():
        if not table_exists(path):
            raise FileNotFoundError(
                f"silver table {name} not found at {path}: build silver first (`lakehouse build --layer silver`)"
            )
    spark = get_spark("lakehouse-attribution", master=master, settings=settings)
    _say(
        echo,
        f"Spark {spark.version} on {spark.sparkContext.master}; lookback {lookback} days, Markov orders 1..{order}",
    )
    touches = journeys.touches_from_silver(read_delta(spark, silver["touchpoints"]))
    conversions = journeys.conversions_from_silver(
        read_delta(spark, silver["order_lines"]), settings.reporting_timezone
    )
    out = attribute(
        spark,
        touches,
        conversions,
        lookback_days=lookback,
        orders=range(1, order + 1),
        position_weights=position_weights,
        half_life_days=half_life_days,
        echo=echo,
    )
    try:
        versions = {}
        attribution = out.attribution.repartition("model").sortWithinPartitions(
            "model", "conversion_date", "market_code", "channel", "campaign_id"
        )
        frames = {
            "attribution": (attribution, "model"),
            "attribution_removal_effects": (out.removal_effects.coalesce(1).orderBy("model", "channel"), None),
            "attribution_transitions": (
                out.transitions.coalesce(1).orderBy("model", "from_state", "to_state"),
                None,
            ),
        }
        for table, (df, partition_by) in frames.items():
            versions[f"gold/{table}"] = write_delta(
                df, gold_path(settings, table), mode="overwrite", partition_by=partition_by
            )
            _say(echo, f"wrote gold/{table} (version {versions[f'gold/{table}']})")
    finally:
        out.unpersist()
    summary = {
        "tables": versions,
        **out.stats,
        "models": [*credit.HEURISTIC_MODELS, *(f"markov_{k}" for k in range(1, order + 1))],
        "seconds": round(time.perf_counter() - started, 2),
    }
    _say(echo, f"done in {summary['seconds']:.1f}s")
    return summary
