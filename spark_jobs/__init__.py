"""Spark applications that write the lake's gold layer (``lake/gold/``), and their registry.

The warehouse is built in three layers: ``silver`` (dbt), ``gold`` (these Spark jobs, reading silver Delta tables
through :mod:`lakehouse.spark`), then ``marts`` (dbt, joining gold outputs with the star schema). ``lakehouse build``
runs them in that order; ``lakehouse build --layer gold`` runs only the jobs. A job is registered here as a
:class:`GoldJob` whose target is a function ``run(settings, *, echo=True, master=None) -> dict`` returning a small
JSON-able summary (at least ``{"tables": {"gold/<table>": <delta version>}}``); it must raise on failure.
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GoldJob:
    name: str
    target: str  # "package.module:function"
    description: str

    def load(self) -> Callable[..., dict]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


# in run order; a later job may read an earlier job's gold tables
GOLD_JOBS: tuple[GoldJob, ...] = (
    GoldJob(
        "attribution",
        "spark_jobs.attribution.job:run",
        "journeys from silver touchpoints and orders; first/last touch, last non-direct, linear, position-based, "
        "time-decay and Markov 1-3 credit by date x market x channel x campaign into gold/attribution*",
    ),
    GoldJob(
        "forecast",
        "spark_jobs.forecast:run",
        "30-day demand forecasts per SKU x market (backtested model choice, intervals), inventory alerts",
    ),
    GoldJob(
        "insights",
        "spark_jobs.insights:run",
        "seller scorecards, peer benchmarks, health, alerts, GMV drivers, recommendations",
    ),
)


@dataclass
class GoldRun:
    job: str
    status: str  # success | error
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def gold_jobs(only: Sequence[str] | None = None) -> list[GoldJob]:
    """The registered jobs (all, or the named ones, in registry order); unknown names raise ValueError."""
    if only:
        unknown = set(only) - {j.name for j in GOLD_JOBS}
        if unknown:
            known = ", ".join(j.name for j in GOLD_JOBS) or "none"
            raise ValueError(f"unknown gold job(s): {', '.join(sorted(unknown))}; registered: {known}")
    return [j for j in GOLD_JOBS if not only or j.name in only]


def run_gold_jobs(settings, jobs: Sequence[GoldJob], echo: bool = True, master: str | None = None) -> list[GoldRun]:
    """Run ``jobs`` in order, stopping at the first failure (its traceback in ``GoldRun.error``)."""
    runs: list[GoldRun] = []
    for job in jobs:
        if echo:
            print(f"[gold] {job.name}: {job.description}", flush=True)
        started = time.perf_counter()
        try:
            summary = job.load()(settings, echo=echo, master=master)
        except Exception as exc:  # reported with the job's name; the layer run is recorded as failed
            runs.append(
                GoldRun(job.name, "error", time.perf_counter() - started, error=f"{exc}\n{traceback.format_exc()}")
            )
            break
        runs.append(GoldRun(job.name, "success", time.perf_counter() - started, summary=summary or {}))
    return runs
