"""Failure alerts of the Airflow DAGs: every task's ``on_failure_callback`` (set in each DAG's ``default_args``) mails
the admin address (``LAKEHOUSE_ADMIN_EMAIL``) through the same SMTP settings as the seller reports, naming the DAG,
task, run, try, error, the log in the UI and the log file on disk.

It runs in the task's own process after the last retry failed; a quality gate that finds errors fails its task, so
it alerts the same way. Sending is best effort: a mail server that is down is written to the task log instead.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from lakehouse.settings import Settings, get_settings


def task_log_path(
    settings: Settings,
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int,
    map_index: int,
    base: Path | None = None,
) -> Path:
    """The task log on disk: Airflow 3's default ``log_filename_template`` under ``base`` (default
    ``LAKEHOUSE_HOME/airflow/logs``, where ``lakehouse up`` points Airflow's ``base_log_folder``)."""
    mapped = f"map_index={map_index}/" if map_index is not None and map_index >= 0 else ""
    return (
        (base or settings.paths.airflow / "logs")
        / f"dag_id={dag_id}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"{mapped}attempt={max(1, try_number)}.log"
    )


def failure_message(context: dict[str, Any], settings: Settings) -> tuple[str, str]:
    """(subject, body) of the alert for a failed task's context."""
    ti = context["ti"]
    error = context.get("exception")
    map_index = getattr(ti, "map_index", -1)
    try_number = int(getattr(ti, "try_number", 1) or 1)
    from airflow.configuration import conf

    base = Path(conf.get("logging", "base_log_folder"))
    log_file = task_log_path(settings, ti.dag_id, ti.run_id, ti.task_id, try_number, map_index, base)
    task = ti.task_id + (f"[{map_index}]" if map_index is not None and map_index >= 0 else "")
    subject = f"FAILED {ti.dag_id}.{task} ({ti.run_id})"
    summary = f"{type(error).__name__}: {error}" if error is not None else "(no exception recorded)"
    lines = [
        f"DAG:      {ti.dag_id}",
        f"Task:     {task}",
        f"Run:      {ti.run_id}",
        f"Try:      {try_number}",
        f"Error:    {summary}",
        f"Log (UI): {getattr(ti, 'log_url', '')}",
        f"Log file: {log_file}",
        "",
        "Readers keep the last good warehouse: nothing after a failed task is published.",
        "Status: lakehouse status   Re-run: clear the task in the UI, or `lakehouse run` for the whole pipeline.",
    ]
    if isinstance(error, BaseException):
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        lines += ["", "Traceback (last 60 lines):", *tb.splitlines()[-60:]]
    return subject, "\n".join(lines) + "\n"


def task_failed(context: dict[str, Any]) -> None:
    """``on_failure_callback``: mail the admin address about the failed task."""
    from lakehouse.mail import send_admin

    settings = get_settings()
    subject, body = failure_message(context, settings)
    if send_admin(subject, body, settings):
        print(f"alert mailed to {settings.admin_email}: {subject}", flush=True)
    else:
        print(
            f"could not mail the alert to {settings.admin_email} "
            f"via {settings.smtp_host}:{settings.smtp_port}: {subject}",
            flush=True,
        )
