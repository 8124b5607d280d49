"""Delta helper overhead: ``lakehouse.delta.write`` (schema conformance + commit metadata) against a raw
``write_deltalake`` of the same Arrow table, both partitioned the same way."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from benchmarks.harness import BenchContext, Result, benchmark
from lakehouse import delta

ROWS = {"demo": 5_000_000, "bench": 50_000_000}


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    days = np.array([f"2026-01-{d:02d}" for d in range(1, 31)])
    return pa.table(
        {
            "order_id": pa.array(np.arange(rows, dtype=np.int64)),
            "dt": pa.array(days[rng.integers(0, len(days), rows)]),
            "market": pa.array(np.array(["US", "DE", "GB", "JP", "BR"])[rng.integers(0, 5, rows)]),
            "amount": pa.array(np.round(rng.gamma(2.0, 30.0, rows), 2)),
            "ts": pa.array(rng.integers(1_767_225_600_000_000, 1_769_817_600_000_000, rows), pa.timestamp("us", "UTC")),
        }
    )


@benchmark
def delta_write_helper_vs_raw(ctx: BenchContext) -> Result:
    rows = ROWS[ctx.scale]
    data = make_table(rows)
    raw_path, helper_path = ctx.workdir / "raw", ctx.workdir / "helper"

    def clean(path):
        return lambda: shutil.rmtree(path, ignore_errors=True)

    raw = ctx.time(lambda: write_deltalake(str(raw_path), data, partition_by=["dt"]), setup=clean(raw_path))
    helper = ctx.time(
        lambda: delta.write(helper_path, data, partition_by=["dt"], metadata={"bench": "1"}), setup=clean(helper_path)
    )
    assert delta.read_arrow(helper_path).num_rows == rows
    return Result(
        name=f"delta helper write, {rows:,} rows partitioned by day",
        value=helper,
        unit="s",
        baseline="raw write_deltalake, same table",
        baseline_value=raw,
        goal="ratio <= 1.1",
        passed=helper / raw <= 1.1,
        extra={"rows_per_s": rows / helper},
    )
