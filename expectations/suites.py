"""Great Expectations: the file data context under ``LAKEHOUSE_HOME``, the suites built from the thresholds,
and the validation of a layer's metric frame.

The committed project config is ``expectations/gx/great_expectations.yml`` (stores, data docs site, the pandas
datasource with one dataframe asset per layer). A run copies it to ``LAKEHOUSE_HOME/quality/gx/`` and opens a
file context there, so everything GX writes — suites as JSON, validation definitions, checkpoints, validation
results, data docs — lives under ``LAKEHOUSE_HOME``, never in the repository. Suites are built from
``thresholds.yml`` on every run and replace the stored ones when they changed (a fingerprint in the suite's
meta), so the JSON under ``quality/gx/expectations/`` is output, not source.

One suite per layer (``lakehouse_<layer>``): one ``ExpectColumnValuesToBeBetween`` on ``value`` per check,
severity and band, restricted by a row condition to that check's rows of the tables sharing the band; GX
severity ``critical`` = error, ``warning`` = warn; the check in ``meta``. Plus ``metric_defined`` (no null
value: a metric that could not be computed fails as an error instead of being skipped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from expectations.checks import Rule
from expectations.report import CheckResult

COMMITTED_CONFIG = Path(__file__).resolve().parent / "gx" / "great_expectations.yml"
DATASOURCE = "lakehouse_metrics"
BATCH_DEFINITION = "whole_frame"
GX_SEVERITY = {"error": "critical", "warn": "warning"}
METRIC_DEFINED = "metric_defined"
SAMPLE_ROWS = 5
RESULT_FORMAT = {"result_format": "COMPLETE", "include_unexpected_rows": False}


def import_gx():
    """Import great_expectations offline and quietly.

    GX imports ``pyspark.sql.connect``, which calls ``sys.exit(0)`` when ``__main__`` has no ``__file__``
    (``python -c``: it thinks it runs doctests). A quality gate that silently exits 0 would pass everything,
    so give ``__main__`` a file name first.
    """
    from lakehouse.settings import get_settings

    for key, value in get_settings().telemetry_env().items():
        os.environ.setdefault(key, value)
    main = sys.modules.get("__main__")
    looks_like_doctest = getattr(main, "__spec__", None) is None and not hasattr(main, "__file__")
    if main is not None and looks_like_doctest and not hasattr(sys, "ps1"):
        setattr(main, "__file__", "<lakehouse>")  # noqa: B010 (a module attribute mypy does not know)
    import great_expectations as gx

    return gx


def context_root(home: Path) -> Path:
    """The GX project root under LAKEHOUSE_HOME (the context lives in ``<root>/gx``)."""
    return home / "quality"


def data_docs_dir(home: Path) -> Path:
    return context_root(home) / "gx" / "uncommitted" / "data_docs" / "local_site"


def get_context(home: Path):
    """The file context under ``home``, created from the committed config (copied again when it changed).
    Opened once per run; it becomes GX's current project, which suites resolve their store through."""
    gx = import_gx()
    root = context_root(home)
    project = root / "gx"
    project.mkdir(parents=True, exist_ok=True)
    committed = COMMITTED_CONFIG.read_bytes()
    stamp = project / "uncommitted" / "committed_config.sha256"
    digest = hashlib.sha256(committed).hexdigest()
    if not (project / "great_expectations.yml").exists() or not stamp.exists() or stamp.read_text() != digest:
        shutil.copyfile(COMMITTED_CONFIG, project / "great_expectations.yml")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    return gx.get_context(mode="file", project_root_dir=str(root))


def ephemeral_context():
    """A context that stores nothing (tests; ``run_checks(store=False)``)."""
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.data_sources.add_or_update_pandas(DATASOURCE)
    return context


def expectations_for(rules: list[Rule]) -> list:
    """The GX expectations of a layer's rules, plus ``metric_defined``."""
    gx = import_gx()
    from great_expectations.expectations.row_conditions import Column

    out = [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="value",
            severity="critical",
            description="every metric could be computed (a null value means a missing source table)",
            meta={"check": METRIC_DEFINED, "tables": ["*"], "severity": "error", "threshold": "value not null"},
        )
    ]
    for rule in rules:
        tables = (
            Column("table_name") == rule.tables[0]
            if len(rule.tables) == 1
            else Column("table_name").is_in(list(rule.tables))
        )
        out.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=rule.min_value,
                max_value=rule.max_value,
                row_condition=(Column("check") == rule.check) & tables,
                severity=GX_SEVERITY[rule.severity],
                description=f"{rule.check} ({rule.severity}) on {', '.join(rule.tables)}: {rule.threshold}",
                meta={
                    "check": rule.check,
                    "tables": list(rule.tables),
                    "severity": rule.severity,
                    "threshold": rule.threshold,
                    "about": rule.description,
                },
            )
        )
    return out


def fingerprint(layer: str, rules: list[Rule]) -> str:
    gx = import_gx()
    payload = json.dumps([layer, gx.__version__, [r.__dict__ for r in rules]], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_suite(layer: str, rules: list[Rule]):
    gx = import_gx()
    # expectations go in through the constructor: add_expectation() re-saves a stored suite on every call
    return gx.ExpectationSuite(
        name=f"lakehouse_{layer}",
        expectations=expectations_for(rules),
        meta={"layer": layer, "built_from": "expectations/thresholds.yml", "fingerprint": fingerprint(layer, rules)},
    )


def batch_definition(context, layer: str):
    """The layer's dataframe asset and its whole-frame batch definition (committed config; created if absent)."""
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError):
        datasource = context.data_sources.add_or_update_pandas(DATASOURCE)
    name = f"{layer}_metrics"
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def stored_checkpoint(context, layer: str, rules: list[Rule]):
    """The layer's checkpoint (validation definition + data docs action), rebuilt only when the suite changed:
    GX's ``add_or_update`` compares expectations pairwise, seconds for a hundred of them."""
    gx = import_gx()
    from great_expectations.checkpoint import UpdateDataDocsAction

    name = f"lakehouse_{layer}"
    wanted = fingerprint(layer, rules)
    try:
        checkpoint = context.checkpoints.get(name)
        suite = checkpoint.validation_definitions[0].suite
        if (suite.meta or {}).get("fingerprint") == wanted:
            return checkpoint
    except Exception:  # absent or unreadable: rebuilt below
        pass
    for factory in (context.checkpoints, context.validation_definitions, context.suites):
        with contextlib.suppress(Exception):  # nothing to delete
            factory.delete(name)
    suite = context.suites.add(build_suite(layer, rules))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition(context, layer), suite=suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format=RESULT_FORMAT,
        )
    )


def validate(
    layer: str,
    metrics: pd.DataFrame,
    rules: list[Rule],
    home: Path | None = None,
    run_id: str | None = None,
    run_time=None,
) -> tuple[list[CheckResult], str | None]:
    """Validate ``metrics`` against the layer's suite. With ``home``: through the stored checkpoint of the file
    context (GX keeps the validation result and updates the data docs); without: in an ephemeral context
    (nothing written). Returns the results and the data docs index (or None)."""
    frame = metrics.reset_index(drop=True)
    if home is None:
        context = ephemeral_context()
        batch = batch_definition(context, layer).get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(build_suite(layer, rules), result_format=RESULT_FORMAT)
        return parse_results(validation, frame), None

    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint = stored_checkpoint(get_context(home), layer, rules)
    result = checkpoint.run(
        batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_id, run_time=run_time)
    )
    (validation,) = result.run_results.values()
    index = data_docs_dir(home) / "index.html"
    return parse_results(validation, frame), str(index) if index.exists() else None


def parse_results(validation, frame: pd.DataFrame) -> list[CheckResult]:
    """One CheckResult per expectation and table: GX's verdict, split by table from its unexpected index list;
    the worst observed value; a few failing rows."""
    out: list[CheckResult] = []
    for item in validation.results:
        config = item.expectation_config
        meta = config.meta or {}
        check, severity = meta.get("check", config.type), meta.get("severity", "error")
        tables = meta.get("tables") or [""]
        result = item.result or {}
        info = item.exception_info or {}
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "expectation raised")[:500]
            out.extend(
                CheckResult(t, check, severity, False, "exception", message, meta.get("threshold", "")) for t in tables
            )
            continue
        unexpected = [i for i in (result.get("unexpected_index_list") or []) if i in frame.index]
        if not item.success and len(unexpected) < int(result.get("unexpected_count") or 0):
            unexpected = list(frame.index)  # incomplete list: fail every table of the expectation
        failing_all = frame.loc[unexpected]
        for table in tables:
            if check == METRIC_DEFINED:
                rows, failing = frame, failing_all
            else:
                rows = frame[(frame["check"] == check) & (frame["table_name"] == table)]
                failing = failing_all[failing_all.index.isin(rows.index)]
            out.append(
                CheckResult(
                    table=table if check != METRIC_DEFINED else "*",
                    expectation=check,
                    severity=severity,
                    success=bool(item.success) or failing.empty,
                    observed=_observed(rows, config, failing),
                    details="; ".join(_describe(r) for r in failing.head(SAMPLE_ROWS).itertuples()),
                    threshold=meta.get("threshold", ""),
                    failing_rows=len(failing),
                    checked_rows=len(rows),
                    description=meta.get("about", ""),
                )
            )
    return out


def _observed(rows: pd.DataFrame, config, failing: pd.DataFrame) -> str | float:
    """The worst value: the furthest outside the band among failing rows, else the closest to its edge."""
    if rows.empty:
        return "no rows in window"
    if config.type == "expect_column_values_to_not_be_null":
        return f"{int(rows['value'].isna().sum())} null of {len(rows)}"
    pool = failing if not failing.empty else rows
    values = pool["value"].dropna()
    if values.empty:
        return "null"
    low, high = config.kwargs.get("min_value"), config.kwargs.get("max_value")
    if low is not None and high is not None:
        mid = (low + high) / 2
        return float(values.loc[(values - mid).abs().idxmax()])
    if low is not None:
        return float(values.min())
    return float(values.max())


def _describe(row) -> str:
    text = f"{row.key}: {row.note}" if row.note else f"{row.key}: {row.value:.4g}"
    return f"{text} [{row.sample}]" if row.sample else text
