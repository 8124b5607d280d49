"""The seller insights Spark application (``lakehouse insights`` and gold job ``insights``).

Reads silver (order lines, returns, sessions, shipments, ad spend, daily sales) and the bronze reference tables
(sellers, products, FX rates, product-view events) and writes, per seller and per week / month of the seller's
own calendar (time zone), in the seller's home currency:

- ``gold/seller_sku_daily``: seller x SKU x local day, every SKU every day (explicit zero rows);
- ``gold/seller_periods``: the scorecard (GMV, orders, units, AOV, sessions, unit-session conversion, refund rate,
  on-time delivery, ad spend, ROAS, growth vs previous period and vs last year, stockout share, health score);
- ``gold/seller_sku_periods``: SKU x period with zero rows and the SKU's rank (top / bottom SKUs);
- ``gold/seller_benchmarks``: the seller's percentile within its category x market cohort (cohorts >= 5 only);
- ``gold/seller_alerts``: robust z-score drops vs the trailing baseline, refund spikes, lane delays, stockout risk;
- ``gold/seller_drivers``: the GMV change split into traffic x conversion x AOV and by channel, market, SKU;
- ``gold/seller_recommendations``: rule-based actions.

The logic is pure ``DataFrame -> DataFrame`` functions (:mod:`spark_jobs.insights.logic`); this module does I/O.
"""

from __future__ import annotations

import time
from typing import Any

from lakehouse.delta import table_exists
from lakehouse.settings import Settings, get_settings

GOLD_TABLES = (
    "seller_sku_daily",
    "seller_periods",
    "seller_sku_periods",
    "seller_benchmarks",
    "seller_alerts",
    "seller_drivers",
    "seller_recommendations",
)
# other gold jobs' tables read when present (issue 9 forecasting, attribution)
OPTIONAL_INPUTS = ("inventory_alerts", "attribution")


def run(settings: Settings | None = None, *, echo: bool = True, master: str | None = None, **options: Any) -> dict:
    """Build every insights table (full rebuild, overwrite) and return ``{"tables": {"gold/<t>": version}}``."""
    from lakehouse.spark import get_spark, read_delta, write_delta
    from spark_jobs.insights import logic

    settings = settings or get_settings()
    started = time.perf_counter()
    spark = get_spark("insights", master=master, settings=settings)
    # small shuffles: the job's tables are per seller and period (thousands of rows); AQE coalesces further
    spark.conf.set("spark.sql.shuffle.partitions", str(options.get("shuffle_partitions", 4)))
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    paths = settings.paths

    def read(layer: str, table: str):
        path = paths.table(layer, table)
        if not table_exists(path):
            raise FileNotFoundError(f"insights needs {layer}/{table} ({path}); run `lakehouse build --layer silver`")
        return read_delta(spark, path)

    inputs = logic.Inputs(
        sellers=read("bronze", "sellers"),
        products=read("bronze", "products"),
        fx_rates=read("bronze", "fx_rates"),
        events=read("bronze", "clicks"),
        order_lines=read("silver", "order_lines"),
        returns=read("silver", "returns"),
        sessions=read("silver", "sessions"),
        shipments=read("silver", "shipments"),
        ad_spend=read("silver", "ad_spend_daily"),
        daily_sales=read("silver", "daily_sales"),
        inventory_alerts=read("gold", "inventory_alerts")
        if table_exists(paths.table("gold", "inventory_alerts"))
        else None,
        attribution=read("gold", "attribution") if table_exists(paths.table("gold", "attribution")) else None,
        reporting_currency=settings.reporting_currency,
    )
    outputs = logic.build_all(spark, inputs)
    versions: dict[str, int] = {}
    for name in GOLD_TABLES:
        t = time.perf_counter()
        versions[f"gold/{name}"] = write_delta(
            outputs[name], paths.table("gold", name), mode="overwrite", custom_metadata={"job": "insights"}
        )
        if echo:
            print(f"[insights] wrote gold/{name} ({time.perf_counter() - t:.1f}s)", flush=True)
    return {
        "tables": versions,
        "seconds": round(time.perf_counter() - started, 1),
        "optional_inputs": {name: table_exists(paths.table("gold", name)) for name in OPTIONAL_INPUTS},
    }
