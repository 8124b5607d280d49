"""``run_checks``: compute a layer's metric frame with DuckDB, validate it with Great Expectations, keep the
results (GX's store, data docs, the Delta table ``lake/_quality/results``) and return a :class:`CheckReport`."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from expectations.checks import LAYERS, CheckInputs, Rule, Window, checks, metric_frame
from expectations.config import ThresholdsError, check_config, load_thresholds
from expectations.report import CheckReport, CheckResult

RESULTS_TABLE = "results"
RESULTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("checked_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("layer", pa.string(), nullable=False),
        pa.field("table_name", pa.string()),
        pa.field("expectation", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("success", pa.bool_(), nullable=False),
        pa.field("observed_value", pa.string()),
        pa.field("details", pa.string()),
        pa.field("threshold", pa.string()),
        pa.field("failing_rows", pa.int64()),
        pa.field("checked_rows", pa.int64()),
        pa.field("as_of", pa.timestamp("us", tz="UTC")),
        pa.field("window", pa.string()),
    ]
)


class QualityError(RuntimeError):
    """The checks could not run (no warehouse to check, unknown layer...)."""


def default_warehouse(settings) -> Path:
    """The build copy dbt writes (checked before publish) if it exists, else the published file."""
    build = settings.paths.warehouse / "build" / "warehouse.duckdb"
    return build if build.exists() else settings.paths.warehouse_file


def open_connection(layer: str, settings, warehouse: Path | None = None):
    """DuckDB in memory over the lake (``bronze.*``, ``silver.*``, ``_ledger.*`` views); for marts the
    warehouse file attached read-only with its marts unqualified."""
    from lakehouse import duck

    if layer == "marts":
        path = Path(warehouse) if warehouse else default_warehouse(settings)
        if not path.exists():
            raise QualityError(f"no warehouse to check at {path}; run `lakehouse build` first")
        con = duck.connect(warehouse=path, settings=settings)
    else:
        con = duck.raw_connect(settings=settings)
        duck.attach_lake(con, settings)
    con.execute("set timezone = 'UTC'")
    return con


def collect(
    layer: str, con, window: Window, thresholds: dict | None = None, timings: dict | None = None
) -> tuple[pd.DataFrame, list[Rule]]:
    """Every registered check of the layer that has thresholds: its metric rows and its rules."""
    thresholds = load_thresholds() if thresholds is None else thresholds
    registered = checks(layer)
    unknown = set(thresholds.get(layer) or {}) - {c.name for c in registered}
    if unknown:
        raise ThresholdsError(f"thresholds for unregistered {layer} check(s): {', '.join(sorted(unknown))}")
    frames, rules = [], []
    for check in registered:
        config = check_config(layer, check.name, thresholds)
        if not config.tables:
            continue  # registered but not configured (an extension without thresholds yet)
        started = time.perf_counter()
        frames.append(metric_frame(check.compute(CheckInputs(con, window, config)), check.name))
        rules.extend(config.rules())
        if timings is not None:
            timings[f"check.{check.name}"] = time.perf_counter() - started
    metrics = metric_frame(pd.concat(frames, ignore_index=True)) if frames else metric_frame([])
    return metrics, rules


def rules_for(layer: str, thresholds: dict | None = None, only: set[str] | None = None) -> list[Rule]:
    """The layer's rules from the thresholds (``only``: these checks)."""
    thresholds = load_thresholds() if thresholds is None else thresholds
    names = [n for n in (thresholds.get(layer) or {}) if only is None or n in only]
    return [rule for name in names for rule in check_config(layer, name, thresholds).rules()]


def evaluate(
    layer: str, metrics: pd.DataFrame, thresholds: dict | None = None, only: set[str] | None = None
) -> list[CheckResult]:
    """Validate a metric frame with Great Expectations in an ephemeral context (nothing stored): what tests
    and notebooks use to see how given metrics fare against the layer's thresholds."""
    from expectations.suites import validate

    return validate(layer, metric_frame(metrics), rules_for(layer, thresholds, only), home=None)[0]


def make_window(settings, since: date | None = None) -> Window:
    return Window(
        now=settings.now(), since=since, lateness_days=settings.lateness_days, lookback_days=settings.lookback_days
    )


def describe_window(layer: str, window: Window) -> str:
    if layer == "bronze":
        days = window.complete_days()
        span = f"{days[0]}..{days[-1]}" if days else "no complete day"
        return f"event days {span} (cross-feed: {window.lateness_days} days earlier), as of {window.now:%Y-%m-%d %H:%M}"
    first, last = window.recent_days()
    return f"{first}..{last}, as of {window.now:%Y-%m-%d %H:%M}"


def run_checks(
    layer: str,
    since: date | str | None = None,
    settings=None,
    warehouse: Path | None = None,
    run_id: str | None = None,
    *,
    store: bool = True,
    thresholds: dict | None = None,
) -> CheckReport:
    """Run the layer's checks ('bronze' | 'silver' | 'marts') and return the report (``report.ok``: no error).

    ``since`` widens the checked days (default: the latest complete day for bronze, the lookback window for
    silver and marts). ``warehouse``: the DuckDB file the marts checks read (default: the build copy, else the
    published file). With ``store`` (default) GX keeps its validation result and updates the data docs under
    ``LAKEHOUSE_HOME/quality``, and every result is appended to ``lake/_quality/results``.
    """
    from lakehouse.settings import get_settings

    if layer not in LAYERS:
        raise QualityError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    settings = settings or get_settings()
    if isinstance(since, str):
        since = date.fromisoformat(since)
    started = time.perf_counter()
    checked_at = datetime.now(UTC)
    run_id = run_id or f"{layer}-{checked_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    window = make_window(settings, since)
    timings: dict[str, float] = {}

    con = open_connection(layer, settings, warehouse)
    try:
        metrics, rules = collect(layer, con, window, thresholds, timings)
    finally:
        con.close()
    timings["metrics"] = time.perf_counter() - started

    from expectations.suites import validate

    mark = time.perf_counter()
    results, docs = validate(
        layer, metrics, rules, home=settings.paths.home if store else None, run_id=run_id, run_time=checked_at
    )
    timings["great_expectations"] = time.perf_counter() - mark
    report = CheckReport(layer, run_id, checked_at, describe_window(layer, window), results, timings, docs)
    if store:
        mark = time.perf_counter()
        write_results(settings, report, window)
        timings["results_table"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return report


def results_table(settings) -> Path:
    return settings.paths.table("_quality", RESULTS_TABLE)


def write_results(settings, report: CheckReport, window: Window | None = None) -> int:
    """Append one row per result to ``lake/_quality/results``; returns the table version."""
    from lakehouse import delta

    as_of = window.now if window else None
    rows = [_row(report, r, as_of) for r in report.results]
    table = pa.Table.from_pylist(rows, schema=RESULTS_SCHEMA)
    return delta.write(
        results_table(settings), table, mode="append", metadata={"writer": "quality", "run_id": report.run_id}
    ).version


def _row(report: CheckReport, result: CheckResult, as_of) -> dict:
    return {
        "run_id": report.run_id,
        "checked_at": report.checked_at,
        "layer": report.layer,
        "table_name": result.table,
        "expectation": result.expectation,
        "severity": result.severity,
        "success": result.success,
        "observed_value": str(result.observed),
        "details": result.details,
        "threshold": result.threshold,
        "failing_rows": result.failing_rows,
        "checked_rows": result.checked_rows,
        "as_of": as_of,
        "window": report.window,
    }


def data_docs_index(settings=None) -> Path:
    """The data docs site's index.html under ``LAKEHOUSE_HOME/quality`` (exists after a stored run)."""
    from expectations.suites import data_docs_dir
    from lakehouse.settings import get_settings

    settings = settings or get_settings()
    return data_docs_dir(settings.paths.home) / "index.html"
