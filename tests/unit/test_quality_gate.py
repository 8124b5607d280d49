"""Quality gate plumbing: thresholds, rules, windows, the GX evaluation and the report.

The probe test is the contract of thresholds.yml: every expectation it defines fails, with its own severity,
on a value just outside its band, and passes on a value inside every band (bounds inclusive).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from expectations import bronze
from expectations.checks import LAYERS, REGISTRY, CheckConfig, Window, checks, metric_frame
from expectations.config import check_config, load_thresholds
from expectations.report import CheckReport, CheckResult
from expectations.runner import evaluate, rules_for

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _outside(bound: float, side: str) -> float:
    step = max(abs(bound) * 0.01, 1e-3)
    return bound - step if side == "low" else bound + step


def _inside(bands: list[tuple[float | None, float | None]]) -> float:
    lows = [lo for lo, _ in bands if lo is not None]
    highs = [hi for _, hi in bands if hi is not None]
    lo, hi = (max(lows) if lows else None), (min(highs) if highs else None)
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    return hi if hi is not None else lo  # on the bound: bounds are inclusive


@pytest.mark.parametrize("layer", LAYERS)
def test_every_expectation_fails_outside_its_band_with_its_severity(layer):
    rules = rules_for(layer)
    assert rules, f"no rules for {layer}"
    rows, bands = [], {}
    for rule in rules:
        for table in rule.tables:
            bands.setdefault((rule.check, table), []).append((rule.min_value, rule.max_value))
            for side, bound in (("low", rule.min_value), ("high", rule.max_value)):
                if bound is not None:
                    key = f"probe-{rule.severity}-{side}"
                    rows.append({"check": rule.check, "table_name": table, "key": key, "value": _outside(bound, side)})
    for (check, table), table_bands in bands.items():
        rows.append({"check": check, "table_name": table, "key": "probe-ok", "value": _inside(table_bands)})
    results = evaluate(layer, metric_frame(rows))
    by_key = {(r.expectation, r.table, r.severity): r for r in results}
    for rule in rules:
        for table in rule.tables:
            result = by_key[(rule.check, table, rule.severity)]
            assert not result.success, f"{rule.check} on {table} ({rule.severity}) did not fail"
            assert result.threshold == rule.threshold
            for side, bound in (("low", rule.min_value), ("high", rule.max_value)):
                if bound is not None:
                    assert f"probe-{rule.severity}-{side}" in result.details, (rule, result.details)
            assert "probe-ok" not in result.details
    defined = by_key[("metric_defined", "*", "error")]
    assert defined.success


def test_metric_defined_fails_on_a_metric_that_could_not_be_computed():
    frame = metric_frame([{"check": "orders_reconcile", "table_name": "fct_orders", "key": "missing", "value": None}])
    results = evaluate("marts", frame, only={"orders_reconcile"})
    defined = next(r for r in results if r.expectation == "metric_defined")
    assert not defined.success and defined.severity == "error"
    assert "missing" in defined.details


def test_thresholds_and_registry_agree():
    thresholds = load_thresholds()
    assert set(thresholds) == set(LAYERS)
    for layer in LAYERS:
        registered = {c.name for c in checks(layer)}
        configured = set(thresholds[layer])
        assert configured == registered, (layer, configured ^ registered)
        for name in configured:
            config = check_config(layer, name)
            assert config.tables, f"{layer}.{name} has no tables"
            assert config.raw.get("description"), f"{layer}.{name} is not documented"
            assert config.rules(), f"{layer}.{name} has no error/warn band"
            if layer == "bronze":
                for table in config.tables:
                    bronze.parse_table_key(table)  # raises on a table the checks do not know


def test_unregistered_check_in_thresholds_is_an_error():
    from expectations.config import ThresholdsError
    from expectations.runner import collect

    thresholds = {"marts": {"no_such_check": {"tables": {"x": {"error": {"max": 1}}}}}}
    with pytest.raises(ThresholdsError, match="no_such_check"):
        collect("marts", con=None, window=Window(NOW), thresholds=thresholds)


def test_rules_share_an_expectation_per_band_and_keep_severities_apart():
    config = CheckConfig(
        "volume",
        {
            "defaults": {"error": {"min": 0.5}, "warn": {"max": 2.0}},
            "tables": {"a": {}, "b": {}, "c": {"warn": {"min": 0.8, "max": 1.5}}},
        },
    )
    rules = {(r.severity, r.min_value, r.max_value): r.tables for r in config.rules()}
    assert rules == {("error", 0.5, None): ("a", "b", "c"), ("warn", None, 2.0): ("a", "b"), ("warn", 0.8, 1.5): ("c",)}


def test_a_shared_expectation_fails_only_the_table_with_the_bad_value():
    rows = [
        {"check": "quarantine_rate", "table_name": "bronze.orders", "key": "w", "value": 0.001},
        {"check": "quarantine_rate", "table_name": "bronze.clicks", "key": "w", "value": 0.3, "note": "bad clicks"},
    ]
    results = evaluate("bronze", metric_frame(rows), only={"quarantine_rate"})
    errors = {r.table: r for r in results if r.severity == "error" and r.table in ("bronze.orders", "bronze.clicks")}
    assert errors["bronze.orders"].success
    assert not errors["bronze.clicks"].success
    assert errors["bronze.clicks"].observed == pytest.approx(0.3)
    assert "bad clicks" in errors["bronze.clicks"].details


def test_window_days():
    window = Window(NOW, lateness_days=3, lookback_days=7)
    assert window.complete_days() == [date(2026, 6, 29)]
    assert window.matured_days() == [date(2026, 6, 26)]
    early = Window(datetime(2026, 6, 30, 5, 0, tzinfo=UTC))
    assert early.complete_days(settle_hours=7) == [date(2026, 6, 28)], "daily files of the 29th not due yet"
    ranged = Window(NOW, since=date(2026, 6, 27))
    assert ranged.complete_days() == [date(2026, 6, 27), date(2026, 6, 28), date(2026, 6, 29)]
    assert Window(NOW, since=date(2026, 7, 5)).complete_days() == []
    assert window.recent_days() == (date(2026, 6, 23), date(2026, 6, 30))
    assert ranged.recent_days() == (date(2026, 6, 27), date(2026, 6, 30))


def test_report_ok_render_and_json():
    results = [
        CheckResult("bronze.clicks", "volume", "error", False, 0.1, "2026-06-29: 100 rows", "value >= 0.5", 1, 1),
        CheckResult("bronze.clicks", "volume", "warn", True, 0.1, "", "value <= 2", 0, 1),
        CheckResult("bronze.orders", "freshness", "warn", False, 20.0, "latest: x", "value <= 14", 1, 1),
    ]
    report = CheckReport("bronze", "run-1", NOW, "2026-06-29", results)
    assert not report.ok
    assert [r.expectation for r in report.errors] == ["volume"]
    assert [r.expectation for r in report.warnings] == ["freshness"]
    text = report.render()
    assert "FAILED" in text and "bronze.clicks" in text and "2026-06-29: 100 rows" in text
    assert text.index("ERROR") < text.index("WARN")
    assert "value <= 2" not in text, "passed results are hidden by default"
    assert "value <= 2" in report.render(show_passed=True)
    data = report.to_json()
    assert data["ok"] is False and data["errors"] == 1 and data["warnings"] == 1 and len(data["results"]) == 3
    assert CheckReport("bronze", "run-2", NOW, "", results[1:2]).ok


def test_extension_point_registers_a_check():
    from expectations import register

    @register("marts", "test_forecasts_non_negative")
    def forecasts(inputs):
        return metric_frame([{"table_name": "forecast", "key": "x", "value": -1.0}])

    try:
        assert "test_forecasts_non_negative" in {c.name for c in checks("marts")}
        thresholds = {"marts": {"test_forecasts_non_negative": {"tables": {"forecast": {"error": {"min": 0}}}}}}
        metrics = REGISTRY["marts"]["test_forecasts_non_negative"].compute(None)
        (result,) = [
            r
            for r in evaluate("marts", metric_frame(metrics, "test_forecasts_non_negative"), thresholds)
            if r.expectation == "test_forecasts_non_negative"
        ]
        assert not result.success and result.severity == "error"
    finally:
        REGISTRY["marts"].pop("test_forecasts_non_negative")


def test_great_expectations_import_does_not_exit_under_python_c():
    """pyspark.sql.connect (imported by GX) calls sys.exit(0) under ``python -c``: a gate must not pass silently."""
    code = "from expectations.suites import import_gx; gx = import_gx(); print('gx', gx.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "gx 1." in done.stdout, done.stderr[-2000:]


def test_a_layer_given_twice_in_thresholds_is_an_error(tmp_path):
    """YAML keeps the last of two equal keys silently: a second `gold:` section would drop the first's checks."""
    from expectations.config import ThresholdsError

    path = tmp_path / "thresholds.yml"
    path.write_text("gold:\n  a: {}\nmarts: {}\ngold:\n  b: {}\n")
    with pytest.raises(ThresholdsError, match=r"line 4: key 'gold' repeats the one on line 1"):
        load_thresholds(path)
