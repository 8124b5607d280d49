"""Superset chart latency at the bench scale's warehouse: every chart of dashboards/bundle through Superset's chart
data API (a real server from .venv-superset on a free port), against the same SQL run directly in DuckDB."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.harness import BenchContext, Result, benchmark

SAMPLES_PER_CHART = 5


def _published_home(ctx: BenchContext) -> Path:
    """The home of the warehouse that bench_warehouse built and published (built here when run alone)."""
    from benchmarks import bench_warehouse

    built = ctx.workdir.parent / "bench_warehouse.warehouse_build" / "published"
    if not built.exists():
        bench_warehouse.warehouse_build(ctx)
        built = ctx.workdir / "published"
    return Path(built.read_text()).parent.parent


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


@benchmark
def chart_data_latency(ctx: BenchContext) -> Result:
    import duckdb

    from lakehouse import superset as ss

    settings = replace(ctx.settings, home=_published_home(ctx), superset_port=_free_port())
    ss.up(settings, echo=lambda line: print(f"[bench]   {line}"))
    try:
        client = ss.Client(ss.url(settings), "admin", ss.demo_logins(settings)["admin"].password)
        charts = client.list("chart")
        sql = {}
        for chart in charts:
            resp = client.get(f"/api/v1/chart/{chart['id']}/data/", params={"type": "query"})
            resp.raise_for_status()
            sql[chart["slice_name"]] = [q["query"] for q in resp.json()["result"]]
            client.chart_data(chart["id"])  # warm up, as a dashboard someone has open
        through_api: dict[str, list[float]] = {}
        for _ in range(SAMPLES_PER_CHART):
            for chart in charts:
                started = time.perf_counter()
                resp = client.chart_data(chart["id"], force=True)
                elapsed = (time.perf_counter() - started) * 1000
                if resp.status_code != 200:
                    raise RuntimeError(f"chart {chart['slice_name']}: {resp.status_code} {resp.text[:300]}")
                through_api.setdefault(chart["slice_name"], []).append(elapsed)
    finally:
        ss.down(settings)
    con = duckdb.connect(str(settings.paths.warehouse_file), read_only=True)
    direct: dict[str, list[float]] = {}
    try:
        for _ in range(SAMPLES_PER_CHART + 1):
            for name, queries in sql.items():
                started = time.perf_counter()
                for query in queries:
                    con.execute(query).fetchall()
                direct.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    finally:
        con.close()
    api_all = [x for v in through_api.values() for x in v]
    direct_all = [x for v in direct.values() for x in v[1:]]  # first round warms the file cache
    p95 = _p95(api_all)
    slowest = sorted(((statistics.median(v), k) for k, v in through_api.items()), reverse=True)[:5]
    return Result(
        name=f"Superset chart data API p95 ({len(charts)} charts x {SAMPLES_PER_CHART}, force=true, no cache)",
        value=p95,
        unit="ms",
        baseline="the same SQL run directly in DuckDB (one open read-only connection), same run",
        baseline_value=_p95(direct_all),
        goal="p95 <= 500 ms",
        passed=p95 <= 500,
        extra={
            "p50_ms": statistics.median(api_all),
            "direct_p50_ms": statistics.median(direct_all),
            "slowest_median_ms": {k: round(v, 1) for v, k in slowest},
        },
    )
