"""Simulator benchmark: generation speed and memory at demo (and bench) scale, and parameter recovery.

Generation runs in a child process (``python -m simulator``) so its peak RSS is measured
alone (its own VmHWM, see ``harness.run_measured``).
Baseline for the timing: the pure I/O floor measured in the same run, i.e. the time to gzip (same level) and
write as many uncompressed bytes as the simulator produced, from pre-built lines. The ratio says how much the
simulation itself costs on top of writing its output.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.harness import BenchContext, Result, benchmark, run_measured
from lakehouse.settings import REPO_ROOT
from simulator.generate import GZIP_LEVEL
from simulator.recovery import recover

GIB = 1024**3


def _run_child(scale: str, out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one generation in a child process."""
    cmd = [sys.executable, "-m", "simulator", "--scale", scale, "--seed", "42", "--out", str(out)]
    result = run_measured(cmd, cwd=REPO_ROOT)
    return result.seconds, result.peak_rss


def _uncompressed_bytes(root: Path) -> int:
    total = 0
    for p in root.rglob("*"):
        if not p.is_file() or "_simulator" in p.parts:
            continue
        if p.suffix == ".gz":
            with p.open("rb") as fh:  # gzip trailer: uncompressed size mod 2**32 (files are far smaller)
                fh.seek(-4, os.SEEK_END)
                total += int.from_bytes(fh.read(4), "little")
        else:
            total += p.stat().st_size
    return total


def _io_floor(root: Path, n_bytes: int, scratch: Path) -> float:
    """Seconds to gzip-write ``n_bytes`` of real clickstream lines in 1 MiB files (no simulation)."""
    sample = next(p for p in sorted(root.glob("clicks/dt=*/hour=12/*.ndjson.gz")))
    block = gzip.decompress(sample.read_bytes())
    block = (block * (1 + (1 << 20) // max(1, len(block))))[: 1 << 20]
    started = time.perf_counter()
    written, i = 0, 0
    while written < n_bytes:
        (scratch / f"f{i % 512}.gz").write_bytes(gzip.compress(block, compresslevel=GZIP_LEVEL, mtime=0))
        written += len(block)
        i += 1
    return time.perf_counter() - started


@benchmark
def simulator_generation(ctx: BenchContext) -> list[Result]:
    results: list[Result] = []
    demo_out = ctx.scratch("demo")
    wall, rss = _run_child("demo", demo_out)
    gt = json.loads((demo_out / "_simulator" / "ground_truth.json").read_text())
    events = sum(d["clicks"]["events"] for d in gt["days"])
    orders = sum(d["orders"]["new_orders"] for d in gt["days"])
    n_bytes = _uncompressed_bytes(demo_out)
    floor = _io_floor(demo_out, n_bytes, ctx.scratch("io_floor"))
    extra = {"events": events, "orders": orders, "uncompressed_bytes": n_bytes, "days": gt["parameters"]["days"]}
    results += [
        Result(
            "simulate demo: wall time",
            wall,
            "s",
            baseline="gzip-write the same bytes (I/O floor)",
            baseline_value=floor,
            goal="<= 180 s",
            passed=wall <= 180,
            extra=extra,
        ),
        Result("simulate demo: events per second", events / wall, "events/s", extra=extra),
        Result("simulate demo: peak RSS", rss / GIB, "GiB", goal="<= 2 GiB", passed=rss <= 2 * GIB),
    ]
    if ctx.scale == "bench":
        bench_out = ctx.scratch("bench")
        b_wall, b_rss = _run_child("bench", bench_out)
        b_gt = json.loads((bench_out / "_simulator" / "ground_truth.json").read_text())
        b_events = sum(d["clicks"]["events"] for d in b_gt["days"])
        results += [
            Result(
                "simulate bench: wall time",
                b_wall,
                "s",
                baseline="demo wall time",
                baseline_value=wall,
                goal="<= 11x demo",
                passed=b_wall <= 11 * wall,
                extra={"events": b_events},
            ),
            Result("simulate bench: events per second", b_events / b_wall, "events/s"),
            Result(
                "simulate bench: peak RSS",
                b_rss / GIB,
                "GiB",
                baseline="demo peak RSS",
                baseline_value=rss / GIB,
                goal="flat: <= 2 GiB",
                passed=b_rss <= 2 * GIB,
            ),
        ]

    # parameter recovery from the demo files alone, against the ground truth
    rec = recover(demo_out)
    for channel, r in rec["channels"].items():
        ok = r["recovered"] is not None and abs(r["recovered"] - r["truth"]) <= 0.01
        results.append(
            Result(
                f"recovery: conversion rate {channel}",
                r["recovered"] or 0.0,
                "rate",
                baseline="ground truth",
                baseline_value=r["truth"],
                goal="within 0.01 of truth",
                passed=ok,
                extra={"planted_effect": r["planted_effect"], "users": r["users"]},
            )
        )
    lanes = [x for x in rec["lanes"] if x["n"] >= 100]
    mae = sum(abs(x["recovered"] - x["truth"]) for x in lanes) / max(1, len(lanes))
    results.append(
        Result(
            "recovery: on-time rate by lane (mean abs error)",
            mae,
            "rate",
            goal="<= 0.03 over lanes with >= 100",
            passed=mae <= 0.03,
            extra={"lanes": lanes},
        )
    )
    inter = rec["intermittent_share"]
    results.append(
        Result(
            "recovery: share of intermittent series",
            inter["recovered"],
            "share",
            baseline="ground truth",
            baseline_value=inter["truth"],
            goal=">= 0.6 and within 0.03 of truth",
            passed=inter["recovered"] >= 0.6 and abs(inter["recovered"] - inter["truth"]) <= 0.03,
        )
    )
    return results
