"""The policy every DAG in ``dags/`` shares: retries with exponential backoff, a timeout on every task and the
failure alert (``lakehouse.alerts``). Imported at parse time, so it stays light (no data libraries)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lakehouse.alerts import task_failed


def default_args(
    retries: int = 2,
    retry_delay: timedelta = timedelta(minutes=1),
    timeout: timedelta = timedelta(minutes=30),
    **extra: Any,
) -> dict[str, Any]:
    """``default_args`` of a DAG: ``retries`` with exponential backoff from ``retry_delay`` (at most 30 min apart),
    ``timeout`` per task try, and a mail to the admin address when a task fails for good."""
    return {
        "owner": "data-platform",
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timeout,
        "on_failure_callback": task_failed,
        **extra,
    }


def backfill_since(context: Any) -> str | None:
    """The first day a backfill asks the warehouse build to rebuild: the run's conf ``since``, else the earliest
    ``since`` on the Asset events that triggered the run (``dags/ingest_landing.py`` puts it there)."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    days = [str(conf["since"])] if conf.get("since") else []
    events = context.get("triggering_asset_events") or {}
    for asset_events in events.values():
        days += [str(e.extra["since"]) for e in asset_events if (getattr(e, "extra", None) or {}).get("since")]
    return min(days) if days else None
