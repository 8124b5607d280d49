"""The check registry: what each layer checks, and the metric frame every check produces.

A check computes a small pandas *metric frame* (one row per table x key: a day, a market, a mart row...) from
aggregates that DuckDB computes over the lake or the warehouse. Great Expectations then validates that frame
against the check's rules (``value`` between ``min_value`` and ``max_value``, one expectation per table and
severity). So the heavy lifting is SQL over the run's partitions and GX only ever sees a few hundred rows.

Extension point: a later job registers its own checks with :func:`register` in a module listed in
``CHECK_MODULES`` (e.g. the Spark jobs add ``attribution_credit_sums`` and ``forecasts_non_negative`` to the
``marts`` layer, which runs on the build before publish) and adds their thresholds under the same layer and
name in ``thresholds.yml``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

LAYERS = ("bronze", "silver", "gold", "marts")
# modules whose import registers checks: a job that brings its own checks adds its module here
CHECK_MODULES = [
    "expectations.bronze",
    "expectations.reconcile",
    "expectations.gold",
    "expectations.forecast",
    "spark_jobs.insights.checks",
]
SEVERITIES = ("error", "warn")
METRIC_COLUMNS = ["check", "table_name", "key", "value", "note", "sample"]

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class Rule:
    """One expectation: the metric rows of ``check`` on ``tables`` must have ``min_value <= value <= max_value``
    (tables sharing a band share one expectation; results are still reported per table)."""

    check: str
    tables: tuple[str, ...]
    severity: Severity
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""

    @property
    def threshold(self) -> str:
        if self.min_value is not None and self.max_value is not None:
            return f"{self.min_value:g} <= value <= {self.max_value:g}"
        if self.min_value is not None:
            return f"value >= {self.min_value:g}"
        return f"value <= {self.max_value:g}"


@dataclass(frozen=True)
class Window:
    """Which days a run checks, from the as-of time (``settings.now()``), ``since`` and the lateness window."""

    now: datetime
    since: date | None = None
    lateness_days: int = 3
    lookback_days: int = 7

    def complete_days(self, settle_hours: float = 1.0) -> list[date]:
        """Days whose files have all arrived (``settle_hours`` after midnight): the latest such day, or every
        day from ``since`` to it."""
        last = (self.now - timedelta(hours=settle_hours)).date() - timedelta(days=1)
        return date_range(self.since or last, last)

    def matured_days(self, settle_hours: float = 1.0) -> list[date]:
        """The checked days moved back by the lateness window: what is still unmatched there stays unmatched."""
        return [d - timedelta(days=self.lateness_days) for d in self.complete_days(settle_hours)]

    def recent_days(self) -> tuple[date, date]:
        """The days a silver/marts run rebuilds: ``since`` (default: today - lookback_days) to today."""
        last = self.now.date()
        return (self.since or last - timedelta(days=self.lookback_days)), last


def date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass
class CheckInputs:
    """What a check's ``compute`` gets: a DuckDB connection (lake views ``bronze.*``, ``silver.*``,
    ``_ledger.*``; marts unqualified), the window and this check's thresholds (``config.table(name)``)."""

    con: Any
    window: Window
    config: CheckConfig


@dataclass(frozen=True)
class CheckConfig:
    """A check's section of thresholds.yml: ``defaults`` merged under each entry of ``tables``."""

    name: str
    raw: dict = field(default_factory=dict)

    @property
    def tables(self) -> list[str]:
        return list((self.raw.get("tables") or {}).keys())

    def table(self, table: str) -> dict:
        merged = dict(self.raw.get("defaults") or {})
        merged.update((self.raw.get("tables") or {}).get(table) or {})
        return merged

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def rules(self) -> list[Rule]:
        """One rule per severity and band, over every table with that band (in thresholds order)."""
        bands: dict[tuple, list[str]] = {}
        for table in self.tables:
            cfg = self.table(table)
            for severity in SEVERITIES:
                band = cfg.get(severity)
                if not band:
                    continue
                lo, hi = band.get("min"), band.get("max")
                if lo is None and hi is None:
                    raise ValueError(f"thresholds: {self.name}.{table}.{severity} needs min and/or max")
                key = (severity, None if lo is None else float(lo), None if hi is None else float(hi))
                bands.setdefault(key, []).append(table)
        description = " ".join(str(self.raw.get("description", "")).split())
        return [Rule(self.name, tuple(tables), sev, lo, hi, description) for (sev, lo, hi), tables in bands.items()]


@dataclass(frozen=True)
class Check:
    name: str
    layer: str
    compute: Callable[[CheckInputs], pd.DataFrame]
    doc: str = ""


REGISTRY: dict[str, dict[str, Check]] = {layer: {} for layer in LAYERS}


def register(layer: str, name: str | None = None) -> Callable:
    """Decorator: ``@register("marts")`` on ``def forecasts_non_negative(inputs) -> metric frame``."""
    if layer not in REGISTRY:
        raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")

    def wrap(fn: Callable[[CheckInputs], pd.DataFrame]) -> Callable[[CheckInputs], pd.DataFrame]:
        check_name = name or fn.__name__
        REGISTRY[layer][check_name] = Check(check_name, layer, fn, (fn.__doc__ or "").strip())
        return fn

    return wrap


def checks(layer: str) -> list[Check]:
    """The registered checks of a layer (importing ``CHECK_MODULES`` first)."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    if layer not in REGISTRY:
        raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    return list(REGISTRY[layer].values())


def metric_frame(rows: Iterable[dict] | pd.DataFrame, check: str | None = None) -> pd.DataFrame:
    """Normalise metric rows: the six columns, ``value`` a float, ``note``/``sample`` strings."""
    frame = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
    if check is not None:
        frame["check"] = check
    for column in METRIC_COLUMNS:
        if column not in frame:
            frame[column] = ""
    frame = frame[METRIC_COLUMNS]
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    for column in ("check", "table_name", "key", "note", "sample"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.reset_index(drop=True)


def empty_metrics() -> pd.DataFrame:
    return metric_frame([])
