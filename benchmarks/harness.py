"""Benchmark harness behind ``make bench``.

A benchmark is a function decorated with :func:`benchmark` in a ``benchmarks/bench_*.py`` module. It gets a
:class:`BenchContext` and returns one or more :class:`Result`. Each result carries its own baseline measured in
the same run, so figures are ratios that survive a slower or busier machine. Timings are medians of
``ctx.repeats`` runs. Results go to ``LAKEHOUSE_HOME/bench/results.json`` and ``results.md``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import resource
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.settings import Settings, get_settings

SCALES = ("demo", "bench")


@dataclass
class Result:
    """One figure. ``ratio`` is value / baseline_value (None when there is no baseline)."""

    name: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    goal: str | None = None
    passed: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]


@dataclass
class BenchContext:
    settings: Settings
    scale: str
    workdir: Path
    repeats: int = 3

    def time(
        self, fn: Callable[[], object], repeats: int | None = None, setup: Callable[[], object] | None = None
    ) -> float:
        """Median wall time of ``fn`` over ``repeats`` runs; ``setup`` runs untimed before each."""
        samples = []
        for _ in range(repeats or self.repeats):
            if setup is not None:
                setup()
            gc.collect()
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


_REGISTRY: list[tuple[str, Callable[[BenchContext], list[Result] | Result]]] = []


def benchmark(fn: Callable[[BenchContext], list[Result] | Result]) -> Callable[[BenchContext], list[Result] | Result]:
    _REGISTRY.append((f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}", fn))
    return fn


def peak_rss_bytes() -> int:
    """Peak RSS of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) * 1024


def machine_info() -> dict:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem / 1024**3, 1),
        "processor": platform.processor() or platform.machine(),
    }


def discover(only: list[str] | None = None) -> list[tuple[str, Callable]]:
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        importlib.import_module(f"benchmarks.{path.stem}")
    if not only:
        return list(_REGISTRY)
    return [(n, f) for n, f in _REGISTRY if any(o in n for o in only)]


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# Benchmarks ({report['scale']} scale, {report['started']})",
        "",
        f"Machine: {m['cpus']} cores, {m['memory_gib']} GiB, Python {m['python']}, {m['platform']}",
        "",
        "| benchmark | value | unit | baseline | baseline value | ratio | goal | ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        ok = {True: "yes", False: "NO", None: ""}[r["passed"]]
        lines.append(
            f"| {r['name']} | {_fmt(r['value'])} | {r['unit']} | {r['baseline'] or ''} | "
            f"{_fmt(r['baseline_value'])} | {_fmt(r['ratio'])} | {r['goal'] or ''} | {ok} |"
        )
    if report["errors"]:
        lines += ["", "## Errors", ""] + [f"- {e['benchmark']}: {e['error']}" for e in report["errors"]]
    return "\n".join(lines) + "\n"


def run(
    scale: str = "demo", only: list[str] | None = None, repeats: int = 3, echo: Callable[[str], None] = print
) -> dict:
    settings = get_settings()
    out_dir = settings.paths.bench
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "scale": scale,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "results": [],
        "errors": [],
    }
    with tempfile.TemporaryDirectory(dir=out_dir, prefix="work-") as tmp:
        for name, fn in discover(only):
            echo(f"[bench] {name} ...")
            ctx = BenchContext(settings=settings, scale=scale, workdir=Path(tmp) / name, repeats=repeats)
            ctx.workdir.mkdir(parents=True)
            started = time.perf_counter()
            try:
                produced = fn(ctx)
            except Exception as exc:  # a failing entry is reported, the others still run
                report["errors"].append({"benchmark": name, "error": f"{type(exc).__name__}: {exc}"})
                echo(traceback.format_exc())
                continue
            for result in produced if isinstance(produced, list) else [produced]:
                row = asdict(result) | {"ratio": result.ratio, "benchmark": name}
                report["results"].append(row)
                echo(
                    f"[bench]   {result.name}: {_fmt(result.value)} {result.unit}"
                    + (f" (ratio {_fmt(result.ratio)} vs {result.baseline})" if result.ratio is not None else "")
                )
            echo(f"[bench] {name} done in {time.perf_counter() - started:.1f}s")
    (out_dir / "results.json").write_text(json.dumps(report, indent=2, default=str))
    (out_dir / "results.md").write_text(to_markdown(report))
    return report


def shared_landing(ctx: BenchContext, seed: int = 42) -> Path:
    """A simulated landing zone at the context's scale, generated once and reused by every entry (and by
    later ``make bench`` runs: it lives under ``bench/cache``). Generated in a subprocess so its memory
    does not count against the entry that asked."""
    import subprocess
    import sys

    landing = ctx.settings.paths.bench / "cache" / f"landing-{ctx.scale}-seed{seed}"
    if not (landing / "_simulator" / "ground_truth.json").exists():
        subprocess.run(
            [sys.executable, "-m", "simulator", "--scale", ctx.scale, "--seed", str(seed), "--out", str(landing)],
            check=True,
        )
    return landing


@dataclass
class Measured:
    seconds: float
    peak_rss: int  # bytes: the child's own high-water mark
    stdout: str
    stderr: str


def run_measured(argv: list[str], env: dict | None = None, cwd: Path | None = None) -> Measured:
    """Run a child process; wall time and its own peak RSS.

    ``ru_maxrss`` from ``wait4``/``RUSAGE_CHILDREN`` is unusable here: Linux carries the parent's high-water
    mark into a forked child, so a child of a large benchmark process reports the parent's size. The child's
    ``VmHWM`` (per address space, fresh after exec) is sampled from /proc until it exits.
    """
    import subprocess

    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status = Path(f"/proc/{proc.pid}/status")
    peak = 0
    out_chunks: list[str] = []
    err_chunks: list[str] = []

    import threading

    def drain(stream, sink):
        for line in stream:
            sink.append(line)

    threads = [
        threading.Thread(target=drain, args=(proc.stdout, out_chunks), daemon=True),
        threading.Thread(target=drain, args=(proc.stderr, err_chunks), daemon=True),
    ]
    for t in threads:
        t.start()
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    stdout, stderr = "".join(out_chunks), "".join(err_chunks)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... failed ({proc.returncode}): {stderr[-2000:]}")
    return Measured(seconds, peak, stdout, stderr)
