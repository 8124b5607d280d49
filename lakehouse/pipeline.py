"""The whole pipeline, run through Airflow (``lakehouse run``, ``lakehouse backfill``) or the same steps in this
process (``lakehouse run --via cli``), and the summary printed after it.

Through Airflow: trigger ``ingest_landing`` over the REST API; its Asset events trigger ``build_warehouse``, whose
publish triggers ``seller_reports``. This module follows that chain run by run, printing each task as it changes
state, and fails with the failed task's log tail. A feed without new files updates no Asset; when some feeds had
something new and others not, the build is triggered directly (it would otherwise wait for the 03:00 fallback).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lakehouse.settings import Settings, get_settings

INGEST_DAG = "ingest_landing"
BUILD_DAG = "build_warehouse"
REPORTS_DAG = "seller_reports"
PIPELINE_DAGS = (INGEST_DAG, BUILD_DAG, REPORTS_DAG)
MAINTENANCE_DAG = "lake_maintenance"  # enabled after the first good run: it compacts what the run wrote
POLL_SECONDS = 2.0
CHAIN_WAIT_SECONDS = 60.0  # how long an Asset-triggered run may take to appear


class PipelineError(RuntimeError):
    """A DAG run of the pipeline failed (the message has the failed tasks and their log tails)."""


@dataclass
class RunRecord:
    dag_id: str
    run_id: str
    state: str
    run_type: str
    seconds: float
    tasks: dict[str, str] = field(default_factory=dict)


@dataclass
class PipelineResult:
    runs: list[RunRecord]
    seconds: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return all(r.state == "success" for r in self.runs)


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _task_label(ti: dict) -> str:
    return ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")


class Follower:
    """Polls one DAG run until it finishes, echoing task state changes."""

    def __init__(self, client, echo: Callable[[str], None], started: float):
        self.client = client
        self.echo = echo
        self.started = started

    def stamp(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"[{elapsed // 60:02d}:{elapsed % 60:02d}]"

    def follow(self, dag_id: str, run_id: str, timeout: float) -> RunRecord:
        from lakehouse.airflow_services import AirflowError

        seen: dict[str, str] = {}
        t0 = time.monotonic()
        deadline = t0 + timeout
        state = "queued"
        while True:
            run = self.client.run(dag_id, run_id)
            if run.state != state:
                state = run.state
                self.echo(f"{self.stamp()} {dag_id} {run_id}: {state}")
            tis = self.client.task_instances(dag_id, run_id)
            for ti in tis:
                label, ti_state = _task_label(ti), str(ti.get("state") or "none")
                if seen.get(label) != ti_state and ti_state not in ("none", "scheduled", "queued"):
                    seconds = f" ({ti['duration']:.0f}s)" if ti.get("duration") and ti_state != "running" else ""
                    self.echo(f"{self.stamp()}   {dag_id}.{label}: {ti_state}{seconds}")
                seen[label] = ti_state
            if run.finished:
                return RunRecord(dag_id, run_id, run.state, run.run_type, time.monotonic() - t0, seen)
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id} {run_id} did not finish within {timeout:.0f}s (state {run.state})")
            time.sleep(POLL_SECONDS)


def failure_report(client, record: RunRecord, settings: Settings, lines: int = 40) -> str:
    """The failed tasks of a run with the tail of each one's log."""
    from lakehouse.airflow_services import log_tail, task_log_file

    parts = [f"{record.dag_id} run {record.run_id} {record.state}:"]
    for ti in client.task_instances(record.dag_id, record.run_id):
        if ti.get("state") in ("failed", "upstream_failed") or (
            ti.get("state") == "up_for_retry" and record.state == "failed"
        ):
            path = task_log_file(settings, ti)
            parts.append(f"\n-- {_task_label(ti)} {ti['state']} (log {path})")
            if ti.get("state") != "upstream_failed":
                parts.append(log_tail(path, lines))
    return "\n".join(parts)


def _next_triggered(client, dag_id: str, after: datetime, wait: float, known: set[str]) -> str | None:
    """The id of a run of ``dag_id`` queued at or after ``after`` (the Asset-triggered one), waiting up to ``wait``."""
    deadline = time.monotonic() + wait
    while True:
        for run in client.runs(dag_id, limit=10):
            queued = _parse(run.run_after)
            if run.run_id not in known and queued is not None and queued >= after and run.run_type != "scheduled":
                return run.run_id
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def run_through_airflow(
    settings: Settings | None = None,
    conf: dict[str, Any] | None = None,
    echo: Callable[[str], None] = print,
    timeout: float = 4 * 3600.0,
    note: str = "lakehouse run",
) -> PipelineResult:
    """Trigger the ingest DAG and follow the Asset chain to the seller reports; raises :class:`PipelineError`."""
    from lakehouse.airflow_services import Client

    settings = settings or get_settings()
    started = time.monotonic()
    client = Client(settings)
    client.wait_for_dags(PIPELINE_DAGS)
    for dag_id in (BUILD_DAG, REPORTS_DAG):
        client.set_paused(dag_id, False)
    # Enabling the hourly ingest makes Airflow start a catch-up run of its latest slot at once. A triggered run
    # that takes that slot (its logical date) replaces it, so the run this command triggers does the work.
    ingest_dag = client.dag(INGEST_DAG) or {}
    slot = ingest_dag.get("next_dagrun_logical_date") if ingest_dag.get("is_paused") else None
    if slot and (_parse(slot) or datetime.max.replace(tzinfo=UTC)) > datetime.now(UTC):
        slot = None
    follower = Follower(client, echo, started)
    records: list[RunRecord] = []

    def finish(record: RunRecord) -> RunRecord:
        records.append(record)
        if record.state != "success":
            raise PipelineError(failure_report(client, record, settings))
        return record

    known = {r.run_id for r in client.runs(BUILD_DAG, limit=10)}
    triggered_at = datetime.now(UTC)
    ingest = client.trigger(INGEST_DAG, conf=conf, note=note, logical_date=slot)
    client.set_paused(INGEST_DAG, False)
    echo(f"{follower.stamp()} triggered {INGEST_DAG} {ingest.run_id} through {client.base}/api/v2")
    ingest_record = finish(follower.follow(INGEST_DAG, ingest.run_id, timeout))
    updated = [t for t, s in ingest_record.tasks.items() if s == "success"]
    # the hourly schedule may have run beside ours (it fires when the DAG is first enabled) and taken the new files
    for other in client.runs(INGEST_DAG, limit=5):
        ended = _parse(other.end_date)
        if other.run_id != ingest.run_id and (ended is None or ended >= triggered_at) and other.state != "queued":
            echo(f"{follower.stamp()} {INGEST_DAG} {other.run_id} ({other.run_type}) ran beside it")
            record = finish(follower.follow(INGEST_DAG, other.run_id, timeout))
            updated += [t for t, s in record.tasks.items() if s == "success"]
    build_id = _next_triggered(client, BUILD_DAG, triggered_at, CHAIN_WAIT_SECONDS if updated else 5.0, known)
    if build_id is None and not updated:
        echo(f"{follower.stamp()} no feed had a new landing file: nothing to build (the published warehouse stays)")
        return PipelineResult(records, time.monotonic() - started, note="nothing new")
    if build_id is None:
        echo(f"{follower.stamp()} only {', '.join(updated)} had new files: triggering {BUILD_DAG} directly")
        build_id = client.trigger(BUILD_DAG, conf={"since": conf["since"]} if conf and conf.get("since") else None,
                                  note=note).run_id  # fmt: skip
    else:
        echo(f"{follower.stamp()} {BUILD_DAG} {build_id} was triggered by the bronze Assets")
    known_reports = {r.run_id for r in client.runs(REPORTS_DAG, limit=10)}
    build_started = datetime.now(UTC)
    finish(follower.follow(BUILD_DAG, build_id, timeout))

    reports_id = _next_triggered(client, REPORTS_DAG, build_started, CHAIN_WAIT_SECONDS, known_reports)
    if reports_id is None:
        raise PipelineError(f"{REPORTS_DAG} was not triggered by the publish within {CHAIN_WAIT_SECONDS:.0f}s")
    echo(f"{follower.stamp()} {REPORTS_DAG} {reports_id} was triggered by the warehouse Asset")
    finish(follower.follow(REPORTS_DAG, reports_id, timeout))
    if client.dag(MAINTENANCE_DAG) is not None:
        client.set_paused(MAINTENANCE_DAG, False)
    return PipelineResult(records, time.monotonic() - started)


def backfill(
    since: date,
    until: date,
    settings: Settings | None = None,
    echo: Callable[[str], None] = print,
    timeout: float = 4 * 3600.0,
) -> PipelineResult:
    """Re-run ``since``..``until`` through Airflow: reprocess that range's landing files, rebuild from ``since``."""
    if until < since:
        raise ValueError(f"--until {until} is before --since {since}")
    conf = {"since": since.isoformat(), "until": until.isoformat(), "reprocess": True}
    return run_through_airflow(settings, conf=conf, echo=echo, timeout=timeout, note=f"backfill {since}..{until}")


def run_through_cli(settings: Settings | None = None, echo: Callable[[str], None] = print) -> PipelineResult:
    """The same steps in this process, without Airflow (the baseline of the Airflow-overhead benchmark)."""
    from ingestion.run import ingest
    from lakehouse import warehouse
    from reports.schedule import due_now

    settings = settings or get_settings()
    started = time.monotonic()
    records = []

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        echo(f"[{int(t0 - started) // 60:02d}:{int(t0 - started) % 60:02d}] {name}")
        out = fn()
        records.append(RunRecord("cli", name, "success", "cli", time.monotonic() - t0))
        return out

    summaries = step("ingest", lambda: ingest(settings=settings))
    failed = [s for s in summaries if s.failed]
    if failed:
        raise PipelineError("; ".join(f"{s.feed}: {s.failed} file(s) failed" for s in failed))
    if not any(s.files for s in summaries):
        return PipelineResult(records, time.monotonic() - started, note="nothing new")
    step("check bronze", lambda: warehouse.quality_gate("bronze", settings=settings, raise_on_error=True))
    step("build silver", lambda: warehouse.build("silver", settings=settings, echo=False))
    step("check silver", lambda: warehouse.quality_gate("silver", settings=settings, raise_on_error=True))
    from spark_jobs import gold_jobs

    for job in gold_jobs():
        step(f"gold {job.name}", _gold_step(job.name, settings))
    step("check gold", lambda: warehouse.quality_gate("gold", settings=settings, raise_on_error=True))
    step("build marts", lambda: warehouse.build("marts", settings=settings, echo=False))
    step("check marts", lambda: warehouse.quality_gate("marts", settings=settings, raise_on_error=True))
    step("publish", lambda: warehouse.publish(settings=settings))
    batches = due_now(settings.now(), settings=settings, overdue=True)
    for batch in batches:
        step(f"reports {batch['period']} x{len(batch['sellers'])}", _reports_step(batch, settings))
    return PipelineResult(records, time.monotonic() - started)


def _gold_step(job: str, settings: Settings) -> Callable[[], Any]:
    from lakehouse import warehouse

    return lambda: warehouse.build("gold", select=[job], settings=settings, echo=False)


def _reports_step(batch: dict, settings: Settings) -> Callable[[], Any]:
    from reports.deliver import send_reports

    return lambda: send_reports(batch["period"], batch["sellers"], settings=settings)
