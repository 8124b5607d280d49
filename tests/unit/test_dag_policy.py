"""The orchestration glue the DAGs import: shared task policy, the backfill window, the alert text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from lakehouse.dag_policy import backfill_since, default_args
from lakehouse.settings import load_settings
from lakehouse.warehouse import _window_from


def test_default_args_retry_with_backoff_time_out_and_alert():
    from lakehouse.alerts import task_failed

    args = default_args(retries=3, timeout=timedelta(minutes=5))
    assert args["retries"] == 3 and args["retry_exponential_backoff"] is True
    assert args["execution_timeout"] == timedelta(minutes=5)
    assert args["on_failure_callback"] is task_failed


def test_backfill_since_from_conf_or_the_earliest_asset_event():
    event = SimpleNamespace
    assert backfill_since({"dag_run": SimpleNamespace(conf={})}) is None
    assert backfill_since({"dag_run": SimpleNamespace(conf={"since": "2026-06-03"})}) == "2026-06-03"
    events = {
        "bronze/orders": [event(extra={"since": "2026-06-05", "until": "2026-06-06"}), event(extra={})],
        "bronze/clicks": [event(extra={"since": "2026-06-02", "until": "2026-06-06"})],
    }
    context = {"dag_run": SimpleNamespace(conf=None), "triggering_asset_events": events}
    assert backfill_since(context) == "2026-06-02"


def test_backfill_window_widens_the_lookback_only():
    settings = load_settings({"LAKEHOUSE_AS_OF": "2026-06-30T12:00:00+00:00", "LAKEHOUSE_LOOKBACK_DAYS": "7"})
    assert _window_from(settings, "2026-06-01").lookback_days == 30
    assert _window_from(settings, date(2026, 6, 29)).lookback_days == 7, "never narrower than the lookback"
    with pytest.raises(ValueError, match="full rebuild"):
        _window_from(replace(settings, as_of=datetime.fromisoformat("2027-12-01T00:00:00+00:00")), "2026-06-01")


def test_log_tail_renders_airflow_json_records(tmp_path):
    """`lakehouse run` prints a failed task's log tail: Airflow 3 writes one JSON record per line."""
    import json

    from lakehouse.airflow_services import log_tail

    log = tmp_path / "attempt=1.log"
    records = [
        {"timestamp": "2026-11-22T09:41:03.281114Z", "level": "info", "event": "::group::Pre Execute"},
        {
            "timestamp": "2026-11-22T09:41:04.000000Z",
            "level": "error",
            "event": "Task failed with exception",
            "error_detail": [{"exc_type": "GateError", "exc_value": "marts: 2 error(s)", "frames": []}],
        },
    ]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\nplain line\n")
    assert log_tail(log, lines=2).splitlines() == [
        "2026-11-22T09:41:04 error   Task failed with exception GateError: marts: 2 error(s)",
        "plain line",
    ]
    assert "no log at" in log_tail(tmp_path / "missing.log")
