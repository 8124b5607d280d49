"""The Spark attribution job end to end: one million journeys from silver touchpoints to the gold tables on
``local[2]``, and (opt-in) the planted-effects comparison on the demo world.

``attribution_job_1m_journeys``: a synthetic silver layer of 1,000,000 journey keys is generated deterministically
(seeded numpy, written with delta-rs): 1 to 8 touches per key (~2.2M touchpoints), 10 channels with realistic
popularity, 30% of the keys converting with one order (300k order_lines rows). In the same run and the same
conditions (a fresh ``local[2]`` JVM each, in a child process):

- baseline: a plain Spark read of the same touchpoints and order_lines tables, grouped per journey key
  (count and max time) and counted: the least any journey job has to do;
- ours: ``python -m spark_jobs.attribution --master local[2]`` (journeys, 6 heuristics, Markov orders 1..3, the
  three gold tables written through the Delta bridge).

Wall time and peak memory: the peak of the summed RSS of the child and all its descendants (the Spark JVM is a
child of the Python driver), sampled from /proc every 0.2 s.

``attribution_planted_effects_demo`` (on by default, ``LAKEHOUSE_BENCH_ATTRIBUTION_DEMO=0`` skips it; ~10+ min):
the shared demo landing ingested and built to silver in a home of its own, the job run there, and each channel's
Markov credit (total share and conversions per touch) set against the simulator's planted effect (Spearman rank
correlation).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.harness import BenchContext, Result, benchmark, shared_landing
from simulator import reference as ref

REPO = Path(__file__).resolve().parents[1]
JOURNEYS = 1_000_000
SEED = 20261122
# share of touches per channel (the simulator's channel list, in this order so the generated data stays the same)
CHANNEL_POPULARITY = {
    "direct": 0.24,
    "organic_search": 0.16,
    "google_search": 0.09,
    "google_shopping": 0.07,
    "meta": 0.11,
    "tiktok": 0.1,
    "marketplace_ads": 0.08,
    "email": 0.07,
    "affiliate": 0.04,
    "referral": 0.04,
}
assert set(CHANNEL_POPULARITY) == set(ref.CHANNELS), "bench channels follow the simulator's"
CHANNELS = tuple(CHANNEL_POPULARITY)
POPULARITY = np.array(list(CHANNEL_POPULARITY.values()))
START = np.datetime64("2026-04-01T00:00:00", "us")
DEMO_ENV = "LAKEHOUSE_BENCH_ATTRIBUTION_DEMO"


def synthetic_silver(home: Path, journeys: int = JOURNEYS, seed: int = SEED) -> dict[str, int]:
    """Write silver ``touchpoints`` and ``order_lines`` Delta tables of ``journeys`` journey keys under ``home``."""
    from deltalake import write_deltalake

    rng = np.random.default_rng(seed)
    touches = np.minimum(1 + rng.poisson(1.2, journeys), 8)
    key_of_touch = np.repeat(np.arange(journeys), touches)
    n = len(key_of_touch)
    first = rng.integers(0, 75 * 86_400, journeys)  # seconds after START
    gaps = rng.exponential(2 * 86_400, n).astype(np.int64)
    starts = np.cumsum(touches) - touches
    gaps[starts] = 0
    offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts], touches)
    touch_at = START + (np.repeat(first, touches) + offset).astype("timedelta64[s]")
    channel = rng.choice(len(CHANNELS), size=n, p=POPULARITY / POPULARITY.sum())
    keys = np.char.add("c", np.arange(journeys).astype("U7"))
    channel_names = np.array(CHANNELS, dtype=object)[channel]
    paid = np.isin(channel, [2, 3, 4, 5, 6])
    campaign = np.where(paid, np.char.add("cmp-", (channel * 10 + rng.integers(0, 10, n)).astype("U3")), None)
    touchpoints = pa.table(
        {
            "journey_key": pa.array(keys[key_of_touch]),
            "customer_key": pa.array(keys[key_of_touch]),
            "session_id": pa.array(np.char.add("s", np.arange(n).astype("U8"))),
            "touch_at": pa.array(touch_at.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "channel": pa.array(channel_names.tolist(), pa.string()),
            "campaign_id": pa.array(campaign.tolist(), pa.string()),
        }
    )
    converts = rng.random(journeys) < 0.3
    last_touch = START + (first + np.add.reduceat(gaps, starts)).astype("timedelta64[s]")
    order_at = last_touch + rng.integers(60, 6 * 3600, journeys).astype("timedelta64[s]")
    order_keys = keys[converts]
    order_lines = pa.table(
        {
            "order_id": pa.array(np.char.add("o", order_keys)),
            "line_no": pa.array(np.ones(len(order_keys), dtype=np.int32)),
            "customer_key": pa.array(order_keys),
            "order_created_at": pa.array(order_at[converts].astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "market_code": pa.array(np.array(["US", "GB", "DE", "JP"])[rng.integers(0, 4, len(order_keys))]),
            "line_value_reporting": pa.array(np.round(rng.lognormal(3.0, 0.6, len(order_keys)), 2)),
            "is_cancelled": pa.array(np.zeros(len(order_keys), dtype=bool)),
        }
    )
    silver = home / "lake" / "silver"
    write_deltalake(str(silver / "touchpoints"), touchpoints, mode="overwrite")
    write_deltalake(str(silver / "order_lines"), order_lines, mode="overwrite")
    return {"journey_keys": journeys, "touchpoints": n, "orders": len(order_keys)}


@dataclass
class TreeMeasured:
    seconds: float
    peak_rss: int  # bytes: peak of the summed RSS of the process tree
    returncode: int
    stdout: str
    stderr: str


def _tree_rss(pid: int) -> int:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def run_tree_measured(argv: list[str], env: dict[str, str]) -> TreeMeasured:
    """Run a child; wall time and the peak RSS of it plus its descendants (sampled every 0.2 s)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks: dict[str, list[str]] = {"out": [], "err": []}
    readers = [
        threading.Thread(target=lambda s=stream, k=key: chunks[k].extend(s), daemon=True)
        for stream, key in ((proc.stdout, "out"), (proc.stderr, "err"))
    ]
    for reader in readers:
        reader.start()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    for reader in readers:
        reader.join()
    return TreeMeasured(
        time.perf_counter() - started, peak, proc.returncode, "".join(chunks["out"]), "".join(chunks["err"])
    )


BASELINE = """
from lakehouse.settings import get_settings
from lakehouse.spark import get_spark, read_delta
from pyspark.sql import functions as F
s = get_settings()
spark = get_spark("bench-baseline", master="local[2]", settings=s)
touches = read_delta(spark, s.paths.table("silver", "touchpoints"))
orders = read_delta(spark, s.paths.table("silver", "order_lines"))
per_key = touches.groupBy("journey_key").agg(F.count("*").alias("n"), F.max("touch_at").alias("last"))
print(per_key.count(), orders.count())
"""


def _env(home: Path, as_of: str | None = None) -> dict[str, str]:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home), "PYTHONPATH": str(REPO), "LAKEHOUSE_SPARK_MASTER": "local[2]"}
    if as_of:
        env["LAKEHOUSE_AS_OF"] = as_of
    return env


def _check(measured: TreeMeasured, what: str) -> None:
    if measured.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {measured.returncode}):\n{measured.stderr[-3000:]}")


@benchmark
def attribution_job_1m_journeys(ctx: BenchContext) -> list[Result]:
    home = ctx.scratch("attribution-1m")
    started = time.perf_counter()
    sizes = synthetic_silver(home)
    generate_seconds = time.perf_counter() - started
    baseline = run_tree_measured([sys.executable, "-c", BASELINE], _env(home))
    _check(baseline, "baseline Spark read + group")
    ours = run_tree_measured([sys.executable, "-m", "spark_jobs.attribution", "--master", "local[2]"], _env(home))
    _check(ours, "the attribution job")
    summary = json.loads(ours.stdout.strip().splitlines()[-1])
    extra = {
        **sizes,
        "generate_seconds": round(generate_seconds, 1),
        "journeys": summary["journeys"],
        "conversions": summary["conversions"],
        "distinct_paths": summary["distinct_paths"],
        "markov_seconds": summary["markov_seconds"],
        "job_seconds_inside": summary["seconds"],
    }
    return [
        Result(
            "attribution job, 1M journeys, local[2]: wall time",
            ours.seconds,
            "s",
            baseline="Spark read + group by journey key of the same tables",
            baseline_value=baseline.seconds,
            extra=extra,
        ),
        Result(
            "attribution job, 1M journeys, local[2]: peak memory (driver + JVM)",
            ours.peak_rss / 1024**2,
            "MiB",
            baseline="Spark read + group by journey key of the same tables",
            baseline_value=baseline.peak_rss / 1024**2,
        ),
    ]


def _spearman(a: list[float], b: list[float]) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


@benchmark
def attribution_planted_effects_demo(ctx: BenchContext) -> list[Result]:
    """The job on the demo world vs its planted effects (about 16 minutes, mostly ingesting the demo world;
    LAKEHOUSE_BENCH_ATTRIBUTION_DEMO=0 skips it)."""
    if os.environ.get(DEMO_ENV, "1") == "0":
        return []
    import duckdb

    from lakehouse.duck import raw_connect

    landing = shared_landing(ctx)
    truth = json.loads((landing / "_simulator" / "ground_truth.json").read_text())
    arrivals = json.loads((landing / "_simulator" / "arrivals.json").read_text())["files"]
    last_arrival = max(datetime.fromisoformat(at.replace("Z", "+00:00")) for _, _, _, at in arrivals)
    as_of = (last_arrival + timedelta(hours=1)).isoformat()
    home = ctx.scratch("attribution-demo")
    (home / "landing").parent.mkdir(parents=True, exist_ok=True)
    if not (home / "landing").exists():
        os.symlink(landing, home / "landing")
    silver = ["--layer", "silver", "--select", "+touchpoints", "--select", "+order_lines"]
    steps = [
        [sys.executable, "-c", "from ingestion.run import ingest\ningest()\n"],
        [sys.executable, "-m", "lakehouse", "build", *silver],
        [sys.executable, "-m", "spark_jobs.attribution", "--master", "local[2]"],
    ]
    seconds = {}
    for argv, name in zip(steps, ("ingest", "silver", "attribution"), strict=True):
        measured = run_tree_measured(argv, _env(home, as_of))
        _check(measured, name)
        seconds[name] = round(measured.seconds, 1)
    con = raw_connect()
    try:
        touchpoints, effects_table = home / "lake/silver/touchpoints", home / "lake/gold/attribution_removal_effects"
        rows = con.execute(
            f"with t as (select channel, count(*) as touches from delta_scan('{touchpoints}') group by channel) "
            "select r.model, r.channel, r.normalized, r.conversions, t.touches "
            f"from delta_scan('{effects_table}') r join t using (channel)"
        ).fetchall()
    except duckdb.Error as exc:
        raise RuntimeError(f"reading the demo gold tables failed: {exc}") from exc
    finally:
        con.close()
    effects = {c: v["planted_effect"] for c, v in truth["channels"].items()}
    results = []
    for model in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == model and r[1] in effects]
        per_touch = {r[1]: r[3] / r[4] for r in mine}
        share = {r[1]: r[2] for r in mine}
        channels = sorted(per_touch)
        results.append(
            Result(
                f"{model} on demo: rank correlation of conversions per touch with planted effect",
                _spearman([per_touch[c] for c in channels], [effects[c] for c in channels]),
                "spearman",
                extra={
                    "per_touch": per_touch,
                    "share": share,
                    "planted": effects,
                    "share_rank_correlation": _spearman([share[c] for c in channels], [effects[c] for c in channels]),
                    "seconds": seconds,
                },
            )
        )
    return results
