"""Attribution model step on a one-million-row path table, against the ``ChannelAttribution`` package.

The table is generated deterministically (seeded): 10 channels with realistic popularity and repeat touches,
path lengths around 5, journeys per path, conversions drawn from planted per-channel effects, revenue per
conversion log-normal, and non-converting journeys. Rows are distinct paths, as marketing tools export them.

Measured in the same run:

- ours: :func:`spark_jobs.attribution.models.attribute_paths` (the five heuristics + exact Markov orders 1..3,
  conversions and revenue) from the in-memory table, median of ``ctx.repeats`` runs;
- baseline: PyPI ``channelattribution`` (GPL-3, Monte-Carlo Markov; installed only into its own venv under
  ``LAKEHOUSE_HOME/cache/bench-channelattribution``, never a project dependency), ``heuristic_models`` +
  ``markov_model`` orders 1..3 with its defaults, in a child process that reads the same table from CSV
  (untimed) and times only the model calls. If it cannot be installed, the entry says so and reports ours alone.

The ratio is ours / theirs (below 1: faster). ``extra`` has how far its Monte-Carlo Markov conversions per
channel are from the exact answer (max absolute, and max relative to the exact value), per order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import BenchContext, Result, benchmark, peak_rss_bytes

ROWS = {"demo": 1_000_000, "bench": 1_000_000}
ORDERS = (1, 2, 3)
SEED = 20260
CHANNELS = (
    "direct",
    "organic_search",
    "paid_search",
    "email",
    "social",
    "display",
    "affiliate",
    "referral",
    "push",
    "video",
)
POPULARITY = np.array([0.16, 0.18, 0.17, 0.10, 0.12, 0.09, 0.05, 0.05, 0.04, 0.04])
EFFECT = np.array([0.3, 0.4, 0.8, 0.9, 0.2, 0.1, 0.5, 0.3, 0.0, 0.0])  # planted log-odds lift per channel on path
REPEAT = 0.3  # chance the next touch repeats the channel
MAX_LENGTH = 25
CA_PACKAGES = ("channelattribution==2.2.5", "matplotlib")  # its module imports matplotlib without declaring it
CA_INSTALL_TIMEOUT = 1200


def _journeys(rng: np.random.Generator, n: int) -> pd.DataFrame:
    lengths = np.minimum(1 + rng.geometric(0.2, n) - 1 + rng.integers(0, 2, n), MAX_LENGTH)
    lengths = np.maximum(lengths, 1)
    touches = np.full((n, MAX_LENGTH), -1, dtype=np.int64)
    touches[:, 0] = rng.choice(len(CHANNELS), n, p=POPULARITY)
    for step in range(1, MAX_LENGTH):
        fresh = rng.choice(len(CHANNELS), n, p=POPULARITY)
        repeat = rng.random(n) < REPEAT
        touches[:, step] = np.where(step < lengths, np.where(repeat, touches[:, step - 1], fresh), -1)
    names = np.array(CHANNELS, dtype=object)
    paths = [" > ".join(names[row[:length]]) for row, length in zip(touches, lengths, strict=True)]
    on_path = np.zeros((n, len(CHANNELS)), dtype=bool)
    for step in range(MAX_LENGTH):
        valid = touches[:, step] >= 0
        on_path[np.flatnonzero(valid), touches[valid, step]] = True
    logit = -3.2 + on_path.astype(float) @ EFFECT + 0.04 * lengths
    journeys = 1 + rng.geometric(0.45, n) - 1
    conversions = rng.binomial(journeys, 1 / (1 + np.exp(-logit)))
    revenue = np.round(conversions * rng.lognormal(np.log(60), 0.5, n), 2)
    return pd.DataFrame(
        {"path": paths, "conversions": conversions, "revenue": revenue, "nulls": journeys - conversions}
    )


def path_table(rows: int, seed: int = SEED) -> pd.DataFrame:
    """``rows`` distinct paths with ``path`` (text), ``conversions``, ``revenue``, ``nulls`` (integers but
    revenue); journeys on the same path are summed. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    frames: list[pd.DataFrame] = []
    distinct = 0
    while distinct < rows:
        frames.append(_journeys(rng, int((rows - distinct) * 1.3) + 1000))
        table = pd.concat(frames, ignore_index=True).groupby("path", sort=False, as_index=False).sum()
        distinct = len(table)
    table = table.iloc[:rows].reset_index(drop=True)
    return table.astype({"conversions": "int64", "nulls": "int64"})


def _ca_python(ctx: BenchContext) -> tuple[Path | None, str]:
    """The interpreter of the channelattribution venv, installing it on first use; (None, reason) if impossible."""
    venv = ctx.settings.paths.cache / "bench-channelattribution"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import ChannelAttribution"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python, "cached"
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv")
    started = time.perf_counter()
    try:
        if uv:
            steps = [
                [uv, "venv", "--python", sys.executable, str(venv)],
                [uv, "pip", "install", "--python", str(python), *CA_PACKAGES],
            ]
        else:
            steps = [
                [sys.executable, "-m", "venv", str(venv)],
                [str(python), "-m", "pip", "install", "--disable-pip-version-check", *CA_PACKAGES],
            ]
        for step in steps:
            print(f"[bench]   channelattribution venv: {' '.join(step[:3])} ... (compiles C++, a few minutes)")
            done = subprocess.run(step, capture_output=True, text=True, timeout=CA_INSTALL_TIMEOUT)
            if done.returncode:
                return None, f"install failed: {(done.stderr or done.stdout).strip()[-400:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"install failed: {exc}"
    if subprocess.run(probe, capture_output=True).returncode:
        return None, "installed but `import ChannelAttribution` fails"
    return python, f"installed in {time.perf_counter() - started:.0f}s"


_CA_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from ChannelAttribution import heuristic_models, markov_model

    data = pd.read_csv(sys.argv[1])
    orders = [int(o) for o in sys.argv[2].split(",")]
    out = {"seconds": {}, "markov": {}}
    started = time.perf_counter()
    heuristic_models(data, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False)
    out["seconds"]["heuristics"] = time.perf_counter() - started
    for order in orders:
        started = time.perf_counter()
        res = markov_model(
            data, "path", "total_conversions", var_value="total_conversion_value", var_null="total_null",
            order=order, verbose=False, flg_pro=False,
        )
        out["seconds"][f"markov_{order}"] = time.perf_counter() - started
        out["markov"][order] = {
            row.channel_name: [row.total_conversions, row.total_conversion_value] for row in res.itertuples()
        }
    print("RESULT " + json.dumps(out))
    """
)


def _run_channelattribution(python: Path, csv: Path, workdir: Path) -> dict:
    script = workdir / "run_channelattribution.py"
    script.write_text(_CA_SCRIPT)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(python), str(script), str(csv), ",".join(map(str, ORDERS))],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"channelattribution run failed ({done.returncode}): {done.stderr[-2000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def _distance(ours: pd.DataFrame, theirs: dict[str, list[float]]) -> dict[str, float]:
    """How far the Monte-Carlo conversions (and revenue) per channel are from the exact ones."""
    exact = ours.set_index("channel")
    out: dict[str, float] = {}
    for i, column in enumerate(("conversions", "revenue")):
        estimate = np.array([theirs.get(c, [0.0, 0.0])[i] for c in exact.index])
        truth = exact[column].to_numpy()
        diff = np.abs(estimate - truth)
        out[f"{column}_max_abs"] = float(diff.max())
        out[f"{column}_max_rel"] = float((diff / np.maximum(truth, 1e-12)).max())
        out[f"{column}_max_abs_share_of_total"] = float(diff.max() / truth.sum())
    return out


def cached_path_table(ctx: BenchContext, rows: int) -> tuple[pd.DataFrame, float]:
    """:func:`path_table`, generated once into ``bench/cache`` (Parquet) and reused by later runs; (table, seconds
    to generate or load)."""
    cache = ctx.settings.paths.bench / "cache" / f"attribution-paths-{rows}-seed{SEED}.parquet"
    started = time.perf_counter()
    if cache.exists():
        return pd.read_parquet(cache), time.perf_counter() - started
    table = path_table(rows)
    cache.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(cache.with_suffix(".tmp"), index=False)
    cache.with_suffix(".tmp").replace(cache)
    return table, time.perf_counter() - started


@benchmark
def attribution_models_path_table(ctx: BenchContext) -> list[Result]:
    from spark_jobs.attribution.models import attribute_paths, encode_paths

    rows = ROWS[ctx.scale]
    table, generated = cached_path_table(ctx, rows)
    journeys = table  # already the journey-table columns: path (text), conversions, revenue, nulls
    distinct = int(table["path"].nunique())
    touches = int(encode_paths(journeys).lengths.sum())

    result: pd.DataFrame | None = None

    def ours() -> None:
        nonlocal result
        result = attribute_paths(journeys, orders=ORDERS)

    ours_seconds = ctx.time(ours)
    assert result is not None
    totals = result.groupby("model")["conversions"].sum()
    assert np.allclose(totals, table["conversions"].sum()), "a model lost conversions"

    extra: dict = {
        "rows": rows,
        "distinct_paths": distinct,
        "touches": touches,
        "conversions": int(table["conversions"].sum()),
        "null_journeys": int(table["nulls"].sum()),
        "generate_or_load_seconds": round(generated, 2),
        "models": sorted(result["model"].unique()),
        "peak_rss_bytes": peak_rss_bytes(),
    }
    python, status = _ca_python(ctx)
    extra["channelattribution"] = status
    if python is None:
        return [
            Result(
                name="attribution models on 1M-row path table (channelattribution unavailable)",
                value=ours_seconds,
                unit="s",
                extra=extra,
            )
        ]

    csv = ctx.scratch("ca") / "paths.csv"
    table.rename(
        columns={"conversions": "total_conversions", "revenue": "total_conversion_value", "nulls": "total_null"}
    ).to_csv(csv, index=False)
    theirs = _run_channelattribution(python, csv, ctx.scratch("ca"))
    theirs_seconds = float(sum(theirs["seconds"].values()))
    extra["channelattribution_seconds"] = {k: round(v, 2) for k, v in theirs["seconds"].items()}
    markov_frames = {int(m.split("_")[1]): f for m, f in result.groupby("model") if m.startswith("markov_")}
    extra["monte_carlo_vs_exact"] = {
        f"markov_{order}": _distance(markov_frames[order], theirs["markov"][str(order)]) for order in ORDERS
    }

    # ours for the same models alone (first/last/linear + Markov), to compare like with like
    from spark_jobs.attribution.models import heuristic, markov

    enc = encode_paths(journeys)

    def ours_same_models() -> None:
        for model in ("first_touch", "last_touch", "linear"):
            heuristic(enc, model)
        for order in ORDERS:
            markov(enc, order=order)

    same_seconds = ctx.time(ours_same_models)
    worst = max(v["conversions_max_rel"] for v in extra["monte_carlo_vs_exact"].values())
    return [
        Result(
            name="attribution models on 1M-row path table (all 8 models, exact Markov 1-3)",
            value=ours_seconds,
            unit="s",
            baseline="channelattribution heuristics + Monte-Carlo Markov 1-3",
            baseline_value=theirs_seconds,
            goal="faster than channelattribution while exact",
            passed=ours_seconds < theirs_seconds,
            extra=extra,
        ),
        Result(
            name="same models as channelattribution (first/last/linear + Markov 1-3, pre-encoded table)",
            value=same_seconds,
            unit="s",
            baseline="channelattribution heuristics + Monte-Carlo Markov 1-3",
            baseline_value=theirs_seconds,
            extra={"rows": rows},
        ),
        Result(
            name="channelattribution Monte-Carlo Markov: worst relative error of a channel's conversions",
            value=worst,
            unit="ratio",
            extra=extra["monte_carlo_vs_exact"],
        ),
    ]
