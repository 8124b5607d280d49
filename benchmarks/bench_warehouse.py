"""The warehouse at the bench scale's shared landing: full dbt build (silver + marts, with tests), the quality
gates' share of the pipeline's wall time, a one-day incremental run against that full build, and `kpi_daily`
dashboard-query latency from the published DuckDB file against the same queries on a plain Parquet export."""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

from benchmarks.harness import BenchContext, Result, benchmark, run_measured, shared_landing
from lakehouse import warehouse
from lakehouse.settings import Settings

QUERIES = 200


def _link_landing(landing: Path, target: Path, paths: list[str]) -> None:
    """Symlinks instead of copies: ingestion follows them (and their arrival-time mtimes)."""
    for rel in paths:
        link = target / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            os.symlink(landing / rel, link)


def _ingest(home: Path, as_of: str) -> float:
    code = "from ingestion.run import ingest\ningest()\n"
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "LAKEHOUSE_AS_OF": as_of}
    return run_measured([sys.executable, "-c", code], env=env).seconds


def _split_by_arrival(landing: Path) -> tuple[list[str], list[str], str]:
    """Files that arrived before the world's last day, the rest, and an as-of time after all of them."""
    sim = landing / "_simulator"
    end = json.loads((sim / "ground_truth.json").read_text())["parameters"]["end"]
    cutoff = datetime.fromisoformat(f"{end}T00:00:00+00:00")
    files = json.loads((sim / "arrivals.json").read_text())["files"]
    arrived = [(p, datetime.fromisoformat(at.replace("Z", "+00:00"))) for p, _, _, at in files]
    early = [p for p, at in arrived if at < cutoff]
    late = [p for p, at in arrived if at >= cutoff]
    as_of = max(at for _, at in arrived) + timedelta(hours=1)
    return early, late, as_of.isoformat()


def _day_after_end(landing: Path) -> datetime:
    end = json.loads((landing / "_simulator" / "ground_truth.json").read_text())["parameters"]["end"]
    return datetime.fromisoformat(f"{end}T06:00:00+00:00") + timedelta(days=1)


def _test_seconds(result: warehouse.BuildResult) -> float:
    return sum(n.seconds for r in result.runs for n in r.nodes if n.kind in ("test", "unit_test"))


@benchmark
def warehouse_build(ctx: BenchContext) -> list[Result]:
    landing = shared_landing(ctx)
    early, late, as_of = _split_by_arrival(landing)
    home = ctx.scratch("home")
    settings: Settings = replace(ctx.settings, home=home, as_of=datetime.fromisoformat(as_of))
    settings.paths.ensure()
    _link_landing(landing, settings.paths.landing, early)
    ingest_seconds = _ingest(home, as_of)

    full = warehouse.build("all", full_refresh=True, settings=settings, echo=False)
    # the gates run as the nightly pipeline would: the morning after the last complete day (the as-of used for
    # ingesting lets every late file in, days later, which freshness would rightly flag)
    gate_settings = replace(settings, as_of=_day_after_end(landing))
    gate_seconds: dict[str, float] = {}
    gate_errors: dict[str, int] = {}
    for layer in ("bronze", "silver", "marts"):
        started = time.perf_counter()
        report = warehouse.quality_gate(layer, settings=gate_settings)
        gate_seconds[layer] = round(time.perf_counter() - started, 1)
        gate_errors[layer] = len(report.errors)
    warehouse.publish(settings=settings)
    _link_landing(landing, settings.paths.landing, late)
    _ingest(home, as_of)
    incremental = warehouse.build("all", settings=settings, echo=False)
    warehouse.publish(settings=settings)
    (ctx.workdir / "published").write_text(str(settings.paths.warehouse_file))

    layers = {r.layer: round(r.seconds, 1) for r in full.runs}
    ratio_goal = 0.25
    gates = sum(gate_seconds.values())
    pipeline = ingest_seconds + full.seconds
    return [
        Result(
            name="quality gates (bronze + silver + marts, Great Expectations) added to the pipeline",
            value=gates,
            unit="s",
            baseline="pipeline wall time without them: ingest + full build, same run",
            baseline_value=pipeline,
            goal="ratio <= 0.2",
            passed=gates <= 0.2 * pipeline,
            extra={"per_layer_seconds": gate_seconds, "errors": gate_errors},
        ),
        Result(
            name=f"warehouse full build (silver + marts, with tests), {len(early):,} landing files",
            value=full.seconds,
            unit="s",
            extra={"layers": layers, "test_seconds": _test_seconds(full), "ingest_seconds": ingest_seconds},
        ),
        Result(
            name="warehouse one-day incremental build (silver + marts, with tests)",
            value=incremental.seconds,
            unit="s",
            baseline="full build of the same warehouse, same run",
            baseline_value=full.seconds,
            goal=f"ratio <= {ratio_goal}",
            passed=incremental.seconds <= ratio_goal * full.seconds,
            extra={
                "layers": {r.layer: round(r.seconds, 1) for r in incremental.runs},
                "test_seconds": _test_seconds(incremental),
                "new_files": len(late),
            },
        ),
    ]


def _dashboard_queries(first: date, last: date, markets: list[str], channels: list[str]) -> list[str]:
    """Typical dashboard queries: KPI tiles, trends, breakdowns by market and channel over a date range."""
    rng = random.Random(7)
    days = (last - first).days
    out = []
    for i in range(QUERIES):
        span = rng.choice((7, 30, 90, 365))
        start = first + timedelta(days=rng.randrange(max(1, days - span)))
        where = f"date_reporting between date '{start}' and date '{start + timedelta(days=span - 1)}'"
        market = rng.choice(markets)
        channel = rng.choice(channels)
        kind = i % 5
        if kind == 0:
            out.append(
                "select sum(orders), sum(gmv_reporting), sum(gmv_reporting) / nullif(sum(orders), 0), "
                f"sum(net_revenue_reporting) from kpi_daily where {where}"
            )
        elif kind == 1:
            out.append(
                "select date_reporting, sum(gmv_reporting), sum(orders), sum(sessions) "
                f"from kpi_daily where {where} and market_code = '{market}' group by 1 order by 1"
            )
        elif kind == 2:
            out.append(
                "select market_code, sum(gmv_reporting) as gmv, sum(refunds_reporting) "
                f"from kpi_daily where {where} group by 1 order by gmv desc"
            )
        elif kind == 3:
            out.append(
                "select channel, sum(converted_sessions)::double / nullif(sum(sessions), 0), sum(ad_spend_reporting) "
                f"from kpi_daily where {where} group by 1 order by 2 desc"
            )
        else:
            out.append(
                "select date_trunc('week', date_reporting) as week, sum(new_customers), sum(customers) "
                f"from kpi_daily where {where} and channel = '{channel}' group by 1 order by 1"
            )
    return out


def _latencies(con, queries: list[str]) -> list[float]:
    samples = []
    for sql in queries:
        started = time.perf_counter()
        con.execute(sql).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


@benchmark
def kpi_daily_query_latency(ctx: BenchContext) -> Result:
    import duckdb

    from lakehouse.duck import connect

    built = ctx.workdir.parent / "bench_warehouse.warehouse_build" / "published"
    if built.exists():
        published = Path(built.read_text())
    else:  # run alone (`lakehouse bench --only kpi_daily`): build the shared landing once
        warehouse_build(ctx)
        published = Path((ctx.workdir / "published").read_text())
    con = connect(warehouse=published, lake=False, settings=ctx.settings)
    try:
        first, last = con.execute("select min(date_reporting), max(date_reporting) from kpi_daily").fetchone()
        markets = [
            r[0]
            for r in con.execute("select distinct market_code from kpi_daily where market_code is not null").fetchall()
        ]
        channels = [r[0] for r in con.execute("select distinct channel from kpi_daily").fetchall()]
        rows = con.execute("select count(*) from kpi_daily").fetchone()[0]
        export = ctx.scratch("parquet") / "kpi_daily.parquet"
        con.execute(f"copy kpi_daily to '{export}' (format parquet)")
        queries = _dashboard_queries(first, last, sorted(markets), sorted(channels))
        _latencies(con, queries[:20])  # warm the file cache, as a running dashboard has
        samples = _latencies(con, queries)
    finally:
        con.close()
    plain = duckdb.connect(config={"threads": ctx.settings.duckdb_threads})
    try:
        plain.execute(f"create view kpi_daily as select * from read_parquet('{export}')")
        _latencies(plain, queries[:20])
        baseline = _latencies(plain, queries)
    finally:
        plain.close()
    p95 = _p95(samples)
    return Result(
        name=f"kpi_daily dashboard query p95 ({QUERIES} queries, {rows:,} rows) from the published DuckDB file",
        value=p95,
        unit="ms",
        baseline="the same queries on a Parquet export of kpi_daily",
        baseline_value=_p95(baseline),
        goal="p95 < 100 ms",
        passed=p95 < 100,
        extra={"p50_ms": statistics.median(samples), "max_ms": max(samples)},
    )
