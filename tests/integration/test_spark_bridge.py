"""Spark <-> Delta bridge: Spark writes, delta-rs commits, and Spark, delta-rs and DuckDB read the same rows."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.spark import DeltaBridgeError, read_delta, write_delta

pytestmark = [pytest.mark.spark, pytest.mark.integration]

SCHEMA = T.StructType(
    [
        T.StructField("id", T.LongType(), False),
        T.StructField("region", T.StringType()),
        T.StructField("day", T.DateType()),
        T.StructField("ts", T.TimestampType()),
        T.StructField("amount", T.DecimalType(12, 2)),
        T.StructField("big", T.DecimalType(24, 6)),
        T.StructField("qty", T.IntegerType()),
        T.StructField("ratio", T.DoubleType()),
        T.StructField("flag", T.BooleanType()),
        T.StructField("note", T.StringType()),
    ]
)
COLUMNS = SCHEMA.fieldNames()
SHANGHAI = ZoneInfo("Asia/Shanghai")
D1, D2 = date(2026, 6, 1), date(2026, 6, 2)

ROWS = [
    (
        1,
        "eu west",
        D1,
        datetime(2026, 6, 1, 8, 0, tzinfo=SHANGHAI),
        Decimal("12.34"),
        Decimal("123456789012345678.123456"),
        3,
        0.5,
        True,
        "café ☕",
    ),
    (
        2,
        "eu west",
        D2,
        datetime(2026, 6, 2, 23, 59, 59, 999999, tzinfo=UTC),
        Decimal("-0.01"),
        Decimal("0.000001"),
        -7,
        -1.25,
        False,
        None,
    ),
    (3, None, D1, None, None, None, None, None, None, "null region"),
    (
        4,
        "a:b/c",
        D2,
        datetime(2026, 6, 2, 0, 0, 0, 1, tzinfo=ZoneInfo("America/New_York")),
        Decimal("9999999999.99"),
        Decimal("-1.5"),
        0,
        float("1e300"),
        True,
        "x",
    ),
    (5, "us", D1, datetime(1999, 12, 31, 23, 59, tzinfo=UTC), Decimal("0.00"), Decimal("0"), 2**31 - 1, 0.0, False, ""),
]


def canonical(table: pa.Table) -> list[tuple]:
    """Rows in COLUMNS order, sorted by id; aware datetimes compare by instant."""
    rows = table.select(COLUMNS).to_pylist()
    return sorted((tuple(r[c] for c in COLUMNS) for r in rows), key=lambda r: r[0])


def delta_extension() -> Path:
    import duckdb_extension_delta

    folder = Path(duckdb_extension_delta.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = folder / "delta.duckdb_extension"
    assert path.exists(), path
    return path


def read_duckdb(table_path: Path, version: int | None = None) -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute(f"LOAD '{delta_extension()}'")
        con.execute("SET TimeZone = 'UTC'")
        at = f", version => {version}" if version is not None else ""
        return con.execute(f"SELECT * FROM delta_scan('{table_path}'{at})").to_arrow_table()
    finally:
        con.close()


def read_deltalake(table_path: Path, version: int | None = None) -> pa.Table:
    return DeltaTable(str(table_path), version=version).to_pyarrow_table()


def all_readers(spark: SparkSession, table_path: Path) -> dict[str, list[tuple]]:
    return {
        "spark": canonical(read_delta(spark, table_path).toArrow()),
        "deltalake": canonical(read_deltalake(table_path)),
        "duckdb": canonical(read_duckdb(table_path)),
    }


def frame(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def files_on_disk(table_path: Path) -> set[str]:
    return {
        str(Path(folder, name).relative_to(table_path))
        for folder, _, names in os.walk(table_path)
        if "_delta_log" not in folder
        for name in names
    }


def test_round_trip_every_reader_sees_the_same_rows(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "orders"
    version = write_delta(frame(spark, ROWS), table, partition_by=["region", "day"])

    assert version == 0
    expected = canonical(pa.Table.from_pylist([dict(zip(COLUMNS, r, strict=True)) for r in ROWS]))
    for reader, rows in all_readers(spark, table).items():
        assert rows == expected, reader

    dt = DeltaTable(str(table))
    assert dt.metadata().partition_columns == ["region", "day"]
    actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    assert sum(a["num_records"] for a in actions) == len(ROWS)
    assert {(a["partition.region"], a["partition.day"]) for a in actions} == {(r[1], r[2]) for r in ROWS}
    assert all(Path(a["path"]).name.startswith("part-") and a["path"].endswith(".parquet") for a in actions)
    registered = {os.path.relpath(p, table) for p in dt.file_uris()}
    assert files_on_disk(table) == registered, "no _SUCCESS, .crc or staging leftovers"

    spark_df = read_delta(spark, table)
    assert [(f.name, f.dataType) for f in spark_df.schema.fields] == [(f.name, f.dataType) for f in SCHEMA.fields]
    assert spark_df.filter(F.col("day") == F.lit(D2)).count() == 2
    assert spark_df.filter(F.col("region").isNull()).count() == 1


def test_file_stats_allow_pruning(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "stats"
    write_delta(frame(spark, ROWS).repartition(1), table)
    (action,) = pa.table(DeltaTable(str(table)).get_add_actions(flatten=True)).to_pylist()
    assert action["num_records"] == 5
    assert (action["min.id"], action["max.id"]) == (1, 5)
    assert action["null_count.region"] == 1
    assert action["min.ts"] == datetime(1999, 12, 31, 23, 59, tzinfo=UTC)
    assert action["max.ts"] >= datetime(2026, 6, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert DeltaTable(str(table)).file_uris(file_pruning_predicate=[("id", ">", 5)]) == []


def test_overwrite_partitions_replaces_only_partitions_in_the_frame(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "daily"
    write_delta(frame(spark, ROWS), table, partition_by=["region", "day"])
    replacement = [
        (20, "eu west", D2, None, Decimal("1.00"), None, 1, None, None, "new eu west D2"),
        (21, "eu west", D2, None, Decimal("2.00"), None, 2, None, None, "new eu west D2"),
        (30, None, D1, None, Decimal("3.00"), None, 3, None, None, "new null region"),
    ]
    version = write_delta(frame(spark, replacement), table, mode="overwrite", overwrite_partitions=True)

    assert version == 1
    replaced = {("eu west", D2), (None, D1)}
    kept = [r for r in ROWS if (r[1], r[2]) not in replaced]
    assert len(kept) == 3
    expected = canonical(pa.Table.from_pylist([dict(zip(COLUMNS, r, strict=True)) for r in kept + replacement]))
    for reader, rows in all_readers(spark, table).items():
        assert rows == expected, reader
    assert canonical(read_duckdb(table, version=0)) == canonical(read_deltalake(table, version=0))
    assert len(read_deltalake(table, version=0)) == len(ROWS)


def test_overwrite_replaces_the_whole_table(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "snapshot"
    write_delta(frame(spark, ROWS), table, partition_by="day")
    write_delta(frame(spark, ROWS[:1]), table, mode="overwrite")

    assert DeltaTable(str(table)).version() == 1
    for reader, rows in all_readers(spark, table).items():
        assert [r[0] for r in rows] == [1], reader
    assert read_delta(spark, table, version=0).count() == len(ROWS)


def test_append_adds_rows_and_rejects_a_mismatching_schema(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "ledger"
    write_delta(frame(spark, ROWS[:2]), table, partition_by=["day"])
    write_delta(frame(spark, ROWS[2:]), table)
    assert sorted(r[0] for r in canonical(read_deltalake(table))) == [1, 2, 3, 4, 5]

    retyped = frame(spark, ROWS).withColumn("amount", F.col("amount").cast("double"))
    with pytest.raises(DeltaBridgeError, match=rf"{table}.*'amount' is double in the DataFrame but decimal\(12,2\)"):
        write_delta(retyped, table)
    with pytest.raises(DeltaBridgeError, match=r"'extra' not in the table"):
        write_delta(frame(spark, ROWS).withColumn("extra", F.lit(1)), table)
    with pytest.raises(DeltaBridgeError, match=r"partitioned by \['day'\], not \['region'\]"):
        write_delta(frame(spark, ROWS), table, partition_by=["region"])
    assert DeltaTable(str(table)).version() == 1


def test_check_constraints_are_enforced_on_spark_writes(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "checked"
    write_delta(frame(spark, ROWS), table, partition_by=["day"])
    DeltaTable(str(table)).alter.add_constraint({"positive_id": "id > 0"})
    before = files_on_disk(table)

    with pytest.raises(DeltaBridgeError, match="CHECK constraint positive_id"):
        write_delta(frame(spark, [(-1, *ROWS[0][1:])]), table)
    assert files_on_disk(table) == before

    write_delta(frame(spark, [(6, *ROWS[0][1:])]), table)
    assert sorted(r[0] for r in canonical(read_deltalake(table))) == [1, 2, 3, 4, 5, 6]


def test_failed_spark_job_commits_nothing_and_leaves_no_files(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "fragile"
    write_delta(frame(spark, ROWS), table, partition_by=["day"])
    before = files_on_disk(table)
    failing = frame(spark, ROWS).withColumn("qty", F.when(F.assert_true(F.col("id") < 3).isNull(), F.col("qty")))

    with pytest.raises(Exception, match="id < 3"):
        write_delta(failing, table)

    assert DeltaTable(str(table)).version() == 0
    assert files_on_disk(table) == before
    assert len(read_deltalake(table)) == len(ROWS)


def test_empty_table_reads_as_an_empty_frame_with_the_delta_schema(spark: SparkSession, tmp_path: Path) -> None:
    table = tmp_path / "empty"
    write_delta(spark.createDataFrame([], SCHEMA), table, partition_by=["day"])

    dt = DeltaTable(str(table))
    assert dt.file_uris() == []
    df = read_delta(spark, table)
    assert df.count() == 0
    assert [(f.name, f.dataType) for f in df.schema.fields] == [(f.name, f.dataType) for f in SCHEMA.fields]
    assert read_duckdb(table).num_rows == 0

    write_delta(frame(spark, ROWS), table)
    assert read_delta(spark, table, version=0).count() == 0
    assert read_delta(spark, table).count() == len(ROWS)
