"""Delta helpers: schema enforcement, merge, partition replace, exactly-once commits, history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from lakehouse import delta

SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("dt", pa.string()),
        pa.field("amount", pa.decimal128(18, 2)),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
    ]
)


def rows(ids, dt="2026-01-01", amount="1.50"):
    return pa.table(
        {
            "order_id": [str(i) for i in ids],
            "dt": [dt] * len(ids),
            "amount": pa.array([Decimal(amount)] * len(ids), pa.decimal128(18, 2)),
            "ts": pa.array([datetime(2026, 1, 1, 12, tzinfo=UTC)] * len(ids), pa.timestamp("us", tz="UTC")),
        },
        schema=SCHEMA,
    )


def test_create_append_read_round_trip(tmp_path):
    path = tmp_path / "orders"
    delta.create_table(path, SCHEMA, partition_by=["dt"])
    result = delta.write(path, rows([1, 2, 3]))
    assert result.version == 1 and result.rows == 3
    back = delta.read_arrow(path).sort_by("order_id")
    assert back.column("order_id").to_pylist() == ["1", "2", "3"]
    assert back.column("amount").to_pylist() == [Decimal("1.50")] * 3
    assert back.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert delta.read_polars(path).height == 3
    assert len(delta.read_pandas(path, filters=[("dt", "=", "2026-01-01")])) == 3


def test_schema_mismatch_names_table_and_column(tmp_path):
    path = tmp_path / "bronze" / "orders"
    delta.write(path, rows([1]), partition_by=["dt"])
    bad = rows([2]).set_column(2, "amount", pa.array(["not a number"]))
    with pytest.raises(delta.SchemaMismatchError, match=r"bronze/orders: column 'amount' is decimal128\(18, 2\)"):
        delta.write(path, bad)
    extra = rows([3]).append_column("surprise", pa.array([1]))
    with pytest.raises(delta.SchemaMismatchError, match="surprise"):
        delta.write(path, extra)
    assert delta.version(path) == 0  # nothing committed by the failed writes


def test_required_column_nulls_rejected(tmp_path):
    path = tmp_path / "t"
    delta.create_table(path, SCHEMA)
    bad = pa.table({"order_id": pa.array([None], pa.string())})
    with pytest.raises(delta.SchemaMismatchError, match="'order_id' is required"):
        delta.write(path, bad)


def test_schema_evolution_when_asked(tmp_path):
    path = tmp_path / "t"
    delta.write(path, rows([1]))
    delta.write(path, rows([2]).append_column("channel", pa.array(["meta"])), evolve_schema=True)
    back = delta.read_arrow(path).sort_by("order_id")
    assert back.column("channel").to_pylist() == [None, "meta"]


def test_merge_upserts_and_insert_only(tmp_path):
    path = tmp_path / "t"
    delta.write(path, rows([1, 2], amount="1.00"))
    result = delta.merge(path, rows([2, 3], amount="9.00"), keys=["order_id"])
    got = {r["order_id"]: r["amount"] for r in delta.read_arrow(path).to_pylist()}
    assert got == {"1": Decimal("1.00"), "2": Decimal("9.00"), "3": Decimal("9.00")}
    assert result.rows == 2
    delta.merge(path, rows([3, 4], amount="5.00"), keys=["order_id"], when_matched="ignore")
    got = {r["order_id"]: r["amount"] for r in delta.read_arrow(path).to_pylist()}
    assert got["3"] == Decimal("9.00") and got["4"] == Decimal("5.00")


def test_merge_rejects_duplicate_source_keys(tmp_path):
    path = tmp_path / "t"
    delta.write(path, rows([1]))
    with pytest.raises(delta.DeltaIOError, match="duplicate keys"):
        delta.merge(path, rows([2, 2]), keys=["order_id"])


def test_replace_partitions_leaves_others(tmp_path):
    path = tmp_path / "t"
    delta.write(
        path, pa.concat_tables([rows([1, 2], dt="2026-01-01"), rows([3], dt="2026-01-02")]), partition_by=["dt"]
    )
    delta.replace_partitions(path, rows([9], dt="2026-01-01"), ["dt"])
    back = sorted((r["dt"], r["order_id"]) for r in delta.read_arrow(path).to_pylist())
    assert back == [("2026-01-01", "9"), ("2026-01-02", "3")]


def test_exactly_once_app_transaction(tmp_path):
    path = tmp_path / "t"
    first = delta.write(path, rows([1]), app_id="ingest:orders", app_version=7, metadata={"run": "r1"})
    again = delta.write(path, rows([1]), app_id="ingest:orders", app_version=7)
    assert again.skipped and again.version == first.version
    assert delta.read_arrow(path).num_rows == 1
    assert delta.already_committed(path, "ingest:orders", 7)
    assert not delta.already_committed(path, "ingest:orders", 8)
    assert delta.history(path, 1)[0].get("run") == "r1" or "r1" in str(delta.history(path, 1)[0])


def test_time_travel_optimize_vacuum(tmp_path):
    path = tmp_path / "t"
    for i in range(4):
        delta.write(path, rows([i]))
    assert delta.read_arrow(path, version=0).num_rows == 1
    assert delta.read_arrow(path, version=2).num_rows == 3
    metrics = delta.optimize(path)
    assert metrics["numFilesRemoved"] == 4
    assert delta.read_arrow(path).num_rows == 4
    with pytest.raises(delta.DeltaIOError, match="below 168h"):
        delta.vacuum(path, retention_hours=0, dry_run=True)
    # version 2 reads 3 of the 4 compacted files: only the fourth may go
    assert len(delta.vacuum(path, retention_hours=0, dry_run=True, keep_versions=[2], allow_short_retention=True)) == 1
    assert len(delta.vacuum(path, retention_hours=0, dry_run=True, allow_short_retention=True)) == 4
    assert delta.vacuum(path, dry_run=True) == []  # removed seconds ago: inside the default retention
    assert len(delta.vacuum(path, retention_hours=0, allow_short_retention=True)) == 4
    assert delta.read_arrow(path).num_rows == 4
    with pytest.raises(Exception, match=r"(?i)not found|no such file|object"):
        delta.read_arrow(path, version=2)  # its files are gone: time travel to it ends at a vacuum


def test_checkpoint_keeps_rows_and_writes_a_checkpoint(tmp_path):
    path = tmp_path / "t"
    for i in range(3):
        delta.write(path, rows([i]))
    before = delta.read_arrow(path).sort_by("order_id")
    assert delta.checkpoint(path) == 2
    assert (path / "_delta_log" / "_last_checkpoint").exists()
    assert delta.read_arrow(path).sort_by("order_id").equals(before)


def test_missing_table_is_clear(tmp_path):
    with pytest.raises(delta.DeltaIOError, match="no Delta table"):
        delta.read_arrow(tmp_path / "nope")


def test_row_count_comes_from_the_log(tmp_path):
    path = tmp_path / "t"
    delta.write(path, pa.table({"id": list(range(10)), "d": ["a"] * 10}), partition_by=["d"])
    delta.write(path, pa.table({"id": list(range(5)), "d": ["b"] * 5}))
    assert delta.row_count(path) == 15
    delta.write(path, pa.table({"id": [1], "d": ["a"]}), mode="overwrite", predicate="d = 'a'")
    assert delta.row_count(path) == 6
