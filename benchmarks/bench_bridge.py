"""Spark <-> Delta bridge: what committing through delta-rs costs over plain Spark Parquet, and Spark reads."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from benchmarks.harness import BenchContext, Result, benchmark, peak_rss_bytes

ROWS = {"demo": 5_000_000, "bench": 20_000_000}
DAYS = 10


def _orders(spark, rows: int):
    from pyspark.sql import functions as F

    ids = spark.range(rows)
    return ids.select(
        F.col("id"),
        F.date_add(F.lit("2026-06-01").cast("date"), (F.col("id") % DAYS).cast("int")).alias("day"),
        F.timestamp_seconds(F.lit(1_780_000_000) + F.col("id")).alias("ts"),
        (F.col("id") % 1_000_000 / 100).cast("decimal(12,2)").alias("amount"),
        F.concat(F.lit("customer-"), (F.col("id") % 50_000).cast("string")).alias("customer"),
        (F.rand(seed=7) * 100).alias("score"),
    )


def _fresh(base: Path):
    counter = itertools.count()

    def next_path() -> Path:
        path = base / f"run-{next(counter)}"
        shutil.rmtree(path, ignore_errors=True)
        return path

    return next_path


@benchmark
def bridge_write_and_read(ctx: BenchContext) -> list[Result]:
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from lakehouse.spark import get_spark, read_delta, write_delta

    rows = ROWS[ctx.scale]
    spark = get_spark("bench_bridge", settings=ctx.settings)
    df = _orders(spark, rows)

    delta_path, parquet_path = _fresh(ctx.scratch("delta")), _fresh(ctx.scratch("parquet"))
    write_delta(df, delta_path(), partition_by=["day"])
    df.write.partitionBy("day").parquet(str(parquet_path()))
    bridge_write = ctx.time(lambda: write_delta(df, delta_path(), mode="overwrite", partition_by=["day"]))
    plain_write = ctx.time(lambda: df.write.partitionBy("day").parquet(str(parquet_path())))

    table = ctx.scratch("table") / "orders"
    write_delta(df, table, mode="overwrite", partition_by=["day"])
    files = len(DeltaTable(str(table)).file_uris())

    def spark_read() -> None:
        frame = read_delta(spark, table)
        assert frame.count() == rows
        frame.agg(
            F.sum("id"),
            F.min("day"),
            F.max("ts"),
            F.sum("amount"),
            F.max("customer"),
            F.avg("score"),
        ).collect()

    def deltalake_read() -> None:
        assert DeltaTable(str(table)).to_pyarrow_table().num_rows == rows

    bridge_read = ctx.time(spark_read)
    arrow_read = ctx.time(deltalake_read)
    extra = {"rows": rows, "files": files, "partitions": DAYS, "peak_rss_bytes": peak_rss_bytes()}
    return [
        Result(
            name="spark bridge write (Parquet + delta-rs commit)",
            value=bridge_write,
            unit="s",
            baseline="spark plain parquet write",
            baseline_value=plain_write,
            goal="commit overhead under 25% of the Parquet write",
            passed=bridge_write <= plain_write * 1.25,
            extra=extra | {"rows_per_s": rows / bridge_write},
        ),
        Result(
            name="spark bridge read (count + full aggregation)",
            value=bridge_read,
            unit="s",
            baseline="deltalake -> Arrow read",
            baseline_value=arrow_read,
            extra=extra | {"rows_per_s": rows / bridge_read},
        ),
    ]
