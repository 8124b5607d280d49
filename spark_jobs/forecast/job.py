"""The forecast job's Spark side: read silver, fan out over batches of series with ``applyInPandas``, reconcile
bottom-up, plan inventory and write the gold tables (Delta, through :func:`lakehouse.spark.write_delta`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.delta import row_count, table_exists
from lakehouse.settings import Settings, get_settings
from lakehouse.spark import get_spark, read_delta, write_delta
from spark_jobs.forecast import engine, inventory
from spark_jobs.forecast.config import ForecastConfig

TABLES = (
    "forecasts",
    "forecast_backtest",
    "forecast_models",
    "forecast_aggregates",
    "inventory_plan",
    "inventory_alerts",
)
_SERIES_KEYS = ["sku", "market_code", "seller_id", "serving_warehouse", "category"]


class ForecastInputError(ValueError):
    """The silver inputs cannot be forecast (missing table, no sales)."""


def _table(settings: Settings, layer: str, name: str) -> str:
    path = settings.paths.table(layer, name)
    if not table_exists(path):
        hint = "`lakehouse build --layer silver`" if layer == "silver" else "`lakehouse ingest`"
        raise ForecastInputError(f"forecast: input table {layer}/{name} not found at {path}; run {hint} first")
    return str(path)


def promo_days(order_lines: DataFrame) -> DataFrame:
    """Seller x day on promotion: the seller sold at least one discounted line that day."""
    return (
        order_lines.where(~F.col("is_cancelled"))
        .groupBy("seller_id", F.col("order_date").alias("sales_date"))
        .agg(F.max((F.col("line_discount_original") > 0).cast("int")).alias("is_promo"))
    )


def promo_uplift(sales: DataFrame) -> float:
    """Units per SKU-day on promotion days / off them, over in-stock days without calendar events (1..3)."""
    row = (
        sales.where(~F.col("is_stockout") & (F.col("demand_multiplier") == 1.0))
        .groupBy()
        .agg(
            F.avg(F.when(F.col("is_promo") == 1, F.col("units"))).alias("on"),
            F.avg(F.when(F.col("is_promo") == 0, F.col("units"))).alias("off"),
        )
        .first()
    )
    if row is None or not row["on"] or not row["off"]:
        return 1.0
    return float(min(3.0, max(1.0, row["on"] / row["off"])))


def calendar_multipliers(holidays: DataFrame) -> DataFrame:
    """market_code x date demand multiplier of calendar events (the product, like silver daily_sales)."""
    return (
        holidays.where(F.col("kind") != "origin_slowdown")
        .groupBy(F.col("market").alias("market_code"), F.col("date").alias("ds"))
        .agg(F.exp(F.sum(F.log(F.coalesce(F.col("demand_multiplier"), F.lit(1.0))))).alias("event_multiplier"))
    )


def series_meta(sales: DataFrame, products: DataFrame) -> DataFrame:
    """One row per SKU x market series: ``series_id``, the seller and serving warehouse of its latest sale and
    the SKU's category. Materialised (a few columns per series): it is the series list of the fan-out and is
    joined to every output."""
    return (
        sales.groupBy("sku", "market_code")
        .agg(
            F.max_by("seller_id", "sales_date").alias("seller_id"),
            F.max_by("serving_warehouse", "sales_date").alias("serving_warehouse"),
        )
        .join(products, "sku", "left")
        .withColumn("category", F.coalesce("category", F.lit("unknown")))
        .withColumn("series_id", F.concat_ws("|", "sku", "market_code"))
        .localCheckpoint(eager=True)
    )


def series_frame(
    sales: DataFrame,
    series: DataFrame,
    holidays: DataFrame,
    uplift: float,
    cfg: ForecastConfig,
    last_day: Any,
    min_batches: int = 1,
) -> tuple[DataFrame, int, int]:
    """History rows (units, stockout flag, multiplier = calendar x promotion) and ``horizon`` future rows per
    series of ``series`` (:func:`series_meta`; multiplier = calendar events only: future promotions are unknown),
    with the series' batch: at most ``batch_size`` series each, and at least ``min_batches`` batches (when there
    are that many series) so that every core gets work on small portfolios."""
    history = sales.select(
        F.concat_ws("|", "sku", "market_code").alias("series_id"),
        "sku",
        "market_code",
        F.col("sales_date").alias("ds"),
        F.col("units").cast("double").alias("y"),
        F.coalesce(F.col("is_stockout"), F.lit(False)).alias("is_stockout"),
        (
            F.coalesce(F.col("demand_multiplier"), F.lit(1.0))
            * F.when(F.col("is_promo") == 1, F.lit(uplift)).otherwise(F.lit(1.0))
        ).alias("multiplier"),
        F.lit(False).alias("is_future"),
    )
    series = series.select("series_id", "sku", "market_code")
    days = F.sequence(F.lit(last_day + timedelta(days=1)), F.lit(last_day + timedelta(days=cfg.horizon)))
    future = (
        series.select("*", F.explode(days).alias("ds"))
        .join(calendar_multipliers(holidays), ["market_code", "ds"], "left")
        .select(
            "series_id",
            "sku",
            "market_code",
            "ds",
            F.lit(None).cast("double").alias("y"),
            F.lit(False).alias("is_stockout"),
            F.coalesce("event_multiplier", F.lit(1.0)).alias("multiplier"),
            F.lit(True).alias("is_future"),
        )
    )
    frame = history.unionByName(future)
    n_series = series.count()
    n_batches = batch_count(n_series, cfg.batch_size, min_batches)
    return frame.withColumn("batch", F.pmod(F.xxhash64("series_id"), F.lit(n_batches))), n_series, n_batches


def batch_count(n_series: int, batch_size: int, min_batches: int = 1) -> int:
    """Batches of at most ``batch_size`` series, at least ``min_batches`` (not more than there are series)."""
    return max(1, -(-n_series // batch_size), min(n_series, min_batches))


def run_forecasts(frame: DataFrame, cfg: ForecastConfig, partitions: int | None = None) -> DataFrame:
    """``applyInPandas`` over the batches: each Python worker warms statsforecast up once, then forecasts its
    batches' series together (:func:`engine.forecast_batch`). Only the engine's input columns cross to Python.

    ``partitions`` (the number of batches): a task per batch, so the cores share the work evenly. Without it the
    groupBy's shuffle uses ``spark.sql.shuffle.partitions`` (8) and adaptive execution may coalesce those into
    fewer tasks than cores."""

    def per_batch(pdf: pd.DataFrame) -> pd.DataFrame:
        return engine.forecast_batch(pdf[engine.INPUT_COLUMNS], cfg)

    frame = frame.select("batch", *engine.INPUT_COLUMNS)
    if partitions:
        frame = frame.repartition(partitions, "batch")
    return frame.groupBy("batch").applyInPandas(per_batch, schema=engine.OUTPUT_SCHEMA)


def _interval_sigma(col: str, z: float) -> Any:
    return F.pow((F.col(f"hi{col}") - F.col(f"lo{col}")) / F.lit(2 * z), 2)


def aggregates(forecasts: DataFrame) -> DataFrame:
    """Bottom-up aggregates per seller, category x market and total: the sums of their SKUs' point forecasts
    (coherent by construction); intervals from the summed variances of the SKU intervals (independence)."""
    z80, z95 = 1.2815515655446004, 1.959963984540054
    levels = {
        "seller": F.col("seller_id"),
        "category_market": F.concat_ws("|", "category", "market_code"),
        "total": F.lit("total"),
    }
    parts = []
    for level, key in levels.items():
        agg = (
            forecasts.groupBy(key.alias("key"), "ds")
            .agg(
                F.sum("point").alias("point"),
                F.sum(_interval_sigma("80", z80)).alias("var80"),
                F.sum(_interval_sigma("95", z95)).alias("var95"),
                F.count("*").alias("series"),
            )
            .withColumn("level", F.lit(level))
        )
        parts.append(agg)
    out = parts[0].unionByName(parts[1]).unionByName(parts[2])
    s80, s95 = F.sqrt("var80"), F.sqrt("var95")
    return out.select(
        "level",
        "key",
        "ds",
        "point",
        F.greatest(F.lit(0.0), F.col("point") - F.lit(z80) * s80).alias("lo80"),
        (F.col("point") + F.lit(z80) * s80).alias("hi80"),
        F.greatest(F.lit(0.0), F.col("point") - F.lit(z95) * s95).alias("lo95"),
        (F.col("point") + F.lit(z95) * s95).alias("hi95"),
        F.col("series").cast("int").alias("series"),
    )


def lead_times(shipments: DataFrame) -> DataFrame:
    """Replenishment lead time of each overseas warehouse: delivery days of cross-border shipments from the
    origin warehouses into its country (mean and std). Origin warehouses use ``origin_lead_time_days``."""
    return (
        shipments.where((F.col("lane_type") == "cross_border") & F.col("delivery_days").isNotNull())
        .groupBy(F.col("destination_country").alias("country"))
        .agg(
            F.avg("delivery_days").alias("lead_time_days"),
            F.coalesce(F.stddev("delivery_days"), F.lit(0.0)).alias("lead_time_std"),
        )
    )


def run(
    settings: Settings | None = None,
    *,
    echo: bool = True,
    master: str | None = None,
    config: ForecastConfig | None = None,
    spark: SparkSession | None = None,
    **options: Any,
) -> dict:
    """Forecast every SKU x market series of silver daily_sales and write the gold tables; returns a summary with
    ``tables`` ({"gold/<table>": delta version}), counts and timings. ``options`` override
    :class:`ForecastConfig` fields (horizon, windows, menu, menus, batch_size, service_level, ...)."""
    settings = settings or get_settings()
    cfg = (config or ForecastConfig()).with_options(**options)
    say: Callable[[str], None] = (lambda m: print(f"[forecast] {m}", flush=True)) if echo else (lambda m: None)
    started = time.perf_counter()
    inputs = {
        "daily_sales": _table(settings, "silver", "daily_sales"),
        "order_lines": _table(settings, "silver", "order_lines"),
        "inventory_snapshots": _table(settings, "silver", "inventory_snapshots"),
        "shipments": _table(settings, "silver", "shipments"),
        "holidays": _table(settings, "bronze", "holidays"),
        "products": _table(settings, "bronze", "products"),
    }
    cache = settings.paths.cache
    numba_dir = engine.numba_cache_dir(cache)
    os.makedirs(numba_dir, exist_ok=True)
    os.environ.setdefault("NUMBA_CACHE_DIR", numba_dir)
    if spark is None:
        spark = get_spark(
            "lakehouse-forecast",
            master=master,
            settings=settings,
            conf={"spark.executorEnv.NUMBA_CACHE_DIR": numba_dir, "spark.python.worker.reuse": "true"},
        )
    sales = read_delta(spark, inputs["daily_sales"])
    last_day = sales.agg(F.max("sales_date")).first()[0]
    if last_day is None:
        raise ForecastInputError(f"forecast: silver daily_sales at {inputs['daily_sales']} has no rows")
    products = (
        read_delta(spark, inputs["products"])
        .withColumn("rn", F.row_number().over(Window.partitionBy("sku").orderBy(F.col("snapshot_date").desc())))
        .where("rn = 1")
        .select("sku", F.coalesce("category", F.lit("unknown")).alias("category"))
    )
    sales = sales.join(promo_days(read_delta(spark, inputs["order_lines"])), ["seller_id", "sales_date"], "left")
    sales = sales.withColumn("is_promo", F.coalesce("is_promo", F.lit(0))).cache()
    uplift = promo_uplift(sales)
    say(f"history to {last_day}; promotion uplift {uplift:.2f}; horizon {cfg.horizon} d, {cfg.windows} window(s)")
    cores = spark.sparkContext.defaultParallelism
    holidays = read_delta(spark, inputs["holidays"])
    meta = series_meta(sales, products)
    frame, n_series, n_batches = series_frame(sales, meta, holidays, uplift, cfg, last_day, min_batches=2 * cores)
    say(f"{n_series} series in {n_batches} batch(es) of <= {cfg.batch_size}, menu {cfg.menu}")
    fanned = time.perf_counter()
    # a task per batch for the fits, then a few partitions for the joins below (not one small task per batch)
    out = run_forecasts(frame, cfg, partitions=n_batches).coalesce(2 * cores).cache()
    out.count()
    forecast_seconds = time.perf_counter() - fanned
    say(f"backtests and forecasts in {forecast_seconds:.1f}s")

    origin = last_day + timedelta(days=1)
    kind = F.col("kind")
    choice = (
        out.where(kind == "choice")
        .select(
            "series_id",
            "model",
            "mase",
            "demand_class",
            "adi",
            "cv2",
            "history_days",
            "stockout_days",
            "windows",
            "mean_daily_demand",
            "demand_std",
            "reason",
        )
        .join(meta, "series_id")
    )
    forecasts = (
        out.where(kind == "forecast")
        .drop("demand_class")
        .join(meta, "series_id")
        .join(choice.select("series_id", "demand_class"), "series_id")
        .select(
            *_SERIES_KEYS,
            "demand_class",
            F.lit(origin).alias("forecast_origin"),
            "ds",
            "horizon_day",
            "model",
            "point",
            "lo80",
            "hi80",
            "lo95",
            "hi95",
        )
    )
    backtest = (
        out.where(kind == "accuracy")
        .drop("demand_class")
        .join(meta, "series_id")
        .join(choice.select("series_id", "demand_class", F.col("model").alias("chosen_model")), "series_id")
        .select(
            *_SERIES_KEYS,
            "demand_class",
            "model",
            (F.col("model") == F.col("chosen_model")).alias("is_chosen"),
            "window",
            F.col("ds").alias("cutoff_date"),
            "eval_days",
            "mase",
            "smape",
            "bias",
            "mae",
            "coverage80",
            "coverage95",
            F.col("reason").alias("error"),
        )
    )
    forecasts, backtest = forecasts.cache(), backtest.cache()
    bench = (
        backtest.where(F.col("model") == "seasonal_naive")
        .groupBy("sku", "market_code")
        .agg(F.avg("mase").alias("seasonal_naive_mase"))
    )
    chosen_scores = (
        backtest.where("is_chosen")
        .groupBy("sku", "market_code")
        .agg(F.avg("smape").alias("smape"), F.avg("bias").alias("bias"))
    )
    models = (
        choice.join(bench, ["sku", "market_code"], "left")
        .join(chosen_scores, ["sku", "market_code"], "left")
        .select(
            *_SERIES_KEYS,
            "demand_class",
            "adi",
            "cv2",
            "history_days",
            "stockout_days",
            F.col("windows").alias("backtest_windows"),
            F.col("model").alias("chosen_model"),
            "mase",
            "smape",
            "bias",
            "seasonal_naive_mase",
            "mean_daily_demand",
            "demand_std",
            F.col("reason").alias("choice_reason"),
            F.lit(origin).alias("forecast_origin"),
        )
    )

    models = models.cache()
    # inventory: forecasts summed over the markets each warehouse serves, latest stock, lane lead times
    demand = (
        forecasts.groupBy("sku", F.col("serving_warehouse").alias("warehouse_code"), "ds")
        .agg(F.sum("point").alias("point"))
        .join(
            models.groupBy("sku", F.col("serving_warehouse").alias("warehouse_code")).agg(
                F.sqrt(F.sum(F.pow("demand_std", 2))).alias("daily_std")
            ),
            ["sku", "warehouse_code"],
        )
        .toPandas()
    )
    snapshots = read_delta(spark, inputs["inventory_snapshots"])
    stock = (
        snapshots.where(F.col("snapshot_date") == snapshots.agg(F.max("snapshot_date")).first()[0])
        .select("sku", "warehouse_code", "qty_available", "qty_inbound", "inbound_eta")
        .toPandas()
    )
    lanes = lead_times(read_delta(spark, inputs["shipments"])).toPandas()
    warehouses = sorted(set(stock["warehouse_code"]) | set(demand["warehouse_code"]))
    lead = pd.DataFrame({"warehouse_code": warehouses})
    lead["country"] = lead["warehouse_code"].str.split("-").str[0]
    lead = lead.merge(lanes, on="country", how="left")
    origin_wh = lead["warehouse_code"].str.startswith("CN-") | lead["lead_time_days"].isna()
    lead.loc[origin_wh, "lead_time_days"] = cfg.origin_lead_time_days
    lead.loc[origin_wh, "lead_time_std"] = 0.0
    say(f"inventory inputs: {len(demand)} SKU x warehouse x day demand rows, {len(stock)} stock rows")
    plan = inventory.plan(demand, stock, lead, origin, cfg)
    alerts = inventory.alerts(plan, origin, cfg)

    outputs: dict[str, DataFrame] = {
        "forecasts": _sorted(forecasts, "sku", "market_code", "ds"),
        "forecast_backtest": _sorted(backtest, "sku", "market_code", "model", "window"),
        "forecast_models": _sorted(models, "sku", "market_code"),
        "forecast_aggregates": _sorted(aggregates(forecasts), "level", "key", "ds"),
        "inventory_plan": _from_pandas(spark, plan, "inventory_plan"),
        "inventory_alerts": _from_pandas(spark, alerts, "inventory_alerts"),
    }
    versions = {}
    counts = {}
    for name, df in outputs.items():
        wrote = time.perf_counter()
        versions[f"gold/{name}"] = write_delta(
            df, settings.paths.table("gold", name), mode="overwrite", custom_metadata={"job": "forecast"}
        )
        counts[name] = row_count(settings.paths.table("gold", name))
        say(f"wrote gold/{name} ({counts[name]} rows) in {time.perf_counter() - wrote:.1f}s")
    chosen = {r["chosen_model"]: r["n"] for r in models.groupBy("chosen_model").agg(F.count("*").alias("n")).collect()}
    classes = {r["demand_class"]: r["n"] for r in models.groupBy("demand_class").agg(F.count("*").alias("n")).collect()}
    for frame_ in (out, sales, forecasts, backtest, models):
        frame_.unpersist()
    summary = {
        "tables": versions,
        "rows": counts,
        "series": n_series,
        "batches": n_batches,
        "forecast_origin": origin.isoformat(),
        "promotion_uplift": round(uplift, 3),
        "demand_classes": classes,
        "chosen_models": chosen,
        "alerts": alerts["alert"].value_counts().to_dict() if len(alerts) else {},
        "forecast_seconds": round(forecast_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    say(f"wrote {', '.join(f'{k} ({counts[k]} rows)' for k in counts)} in {summary['seconds']}s")
    return summary


def _sorted(df: DataFrame, *columns: str) -> DataFrame:
    """One file per table in a stable row order (the outputs are small: series x horizon rows)."""
    return df.coalesce(1).sortWithinPartitions(*columns)


_PANDAS_SCHEMAS = {
    "inventory_plan": (
        "sku string, warehouse_code string, as_of_date date, qty_available double, qty_inbound double, "
        "inbound_eta date, mean_daily_demand double, daily_demand_std double, lead_time_days double, "
        "lead_time_std double, service_level double, safety_stock double, reorder_point double, "
        "days_of_cover double, projected_stockout_date date"
    ),
    "inventory_alerts": (
        "sku string, warehouse_code string, as_of_date date, alert string, severity string, "
        "suggested_action string, suggested_qty long, reason string, days_of_cover double, "
        "projected_stockout_date date, lead_time_days double, reorder_point double, safety_stock double"
    ),
}


def _from_pandas(spark: SparkSession, frame: pd.DataFrame, name: str) -> DataFrame:
    schema = _PANDAS_SCHEMAS[name]
    columns = [c.strip().split(" ")[0] for c in schema.split(",")]
    frame = frame[columns].astype(object).where(frame[columns].notna(), None)
    return spark.createDataFrame([tuple(r) for r in frame.itertuples(index=False)], schema=schema)
