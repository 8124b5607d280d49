"""Ingestion throughput (clicks, orders) against raw ``write_deltalake`` of the same parsed Arrow data in
the same batches; peak RSS of a whole ingest in a subprocess; DAG file parse time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deltalake import write_deltalake

from benchmarks.harness import BenchContext, Result, benchmark, run_measured, shared_landing
from lakehouse import delta

REPO = Path(__file__).resolve().parents[1]


def _ingest_subprocess(home: Path, feeds: list[str], as_of: str) -> tuple[float, int, dict]:
    """Run ingestion of ``feeds`` in a child; returns (seconds, its peak RSS bytes, summary)."""
    code = (
        "import json, sys\n"
        "from ingestion.run import ingest\n"
        f"s = ingest({feeds!r})\n"
        "print(json.dumps({x.feed: {'rows': x.rows, 'accepted': x.accepted, 'files': x.files} for x in s}))\n"
    )
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_AS_OF": as_of}
    result = run_measured([sys.executable, "-c", code], env=env)
    return result.seconds, result.peak_rss, json.loads(result.stdout.strip().splitlines()[-1])


def _as_of(landing: Path) -> str:
    truth = json.loads((landing / "_simulator" / "ground_truth.json").read_text())
    end = truth["parameters"]["end"]
    return f"{end}T23:59:59+00:00"


@benchmark
def ingest_throughput(ctx: BenchContext) -> list[Result]:
    landing = shared_landing(ctx)
    home = ctx.scratch("home")
    os.symlink(landing, home / "landing")
    results = []
    for feed in ("clicks", "orders"):
        seconds, peak, summary = _ingest_subprocess(home, [feed], _as_of(landing))
        rows = summary[feed]["rows"]
        table = home / "lake" / "bronze" / feed
        parsed = delta.read_arrow(table)
        from ingestion.feeds import FEEDS

        batches = max(1, -(-summary[feed]["files"] // FEEDS[feed].batch_files))
        raw_path = ctx.scratch(f"raw-{feed}")

        def raw_write(parsed=parsed, raw_path=raw_path, batches=batches):
            shutil.rmtree(raw_path, ignore_errors=True)
            step = -(-parsed.num_rows // batches)
            for start in range(0, parsed.num_rows, step):
                write_deltalake(str(raw_path), parsed.slice(start, step), mode="append", partition_by=["event_date"])

        raw_seconds = ctx.time(raw_write, repeats=1)
        results.append(
            Result(
                name=f"ingest {feed}: landing files -> bronze ({rows:,} records, {batches} batches)",
                value=rows / seconds,
                unit="rows/s",
                baseline="raw write_deltalake of the same parsed Arrow data, same batches",
                baseline_value=parsed.num_rows / raw_seconds,
                goal="ratio >= 0.5",
                passed=(rows / seconds) / (parsed.num_rows / raw_seconds) >= 0.5,
                extra={"seconds": seconds, "raw_seconds": raw_seconds, "peak_rss_gib": peak / 1024**3},
            )
        )
    return results


@benchmark
def ingest_all_feeds_peak_memory(ctx: BenchContext) -> Result:
    landing = shared_landing(ctx)
    home = ctx.scratch("home-all")
    os.symlink(landing, home / "landing")
    seconds, peak, summary = _ingest_subprocess(home, [], _as_of(landing))
    rows = sum(v["rows"] for v in summary.values())
    return Result(
        name=f"ingest all feeds ({rows:,} records) peak RSS",
        value=peak / 1024**3,
        unit="GiB",
        goal="<= 4 GiB at bench scale",
        passed=peak <= 4 * 1024**3,
        extra={"seconds": seconds, "rows_per_s": rows / seconds},
    )


@benchmark
def dag_parse_time(ctx: BenchContext) -> list[Result]:
    results = []
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        code = (
            "import runpy, time; t = time.perf_counter(); "
            f"runpy.run_path({str(dag_file)!r}); print(time.perf_counter() - t)"
        )
        env = {**os.environ, "AIRFLOW__CORE__UNIT_TEST_MODE": "True", "AIRFLOW_HOME": str(ctx.scratch("airflow"))}
        samples = [
            float(
                subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            for _ in range(ctx.repeats)
        ]
        value = sorted(samples)[len(samples) // 2]
        results.append(Result(name=f"DAG parse {dag_file.name}", value=value, unit="s", goal="< 2 s", passed=value < 2))
    return results
