"""Running dbt: one place that turns settings into dbt's environment and runs it as a child process.

Every dbt invocation (``lakehouse build``, ``lakehouse dbt``, the Airflow DAG, tests) goes through
:func:`run_dbt`, so the profile, paths, telemetry switches and single-writer lock are the same everywhere.
dbt's target/ and logs/ go under ``LAKEHOUSE_HOME/cache/dbt`` (never into the repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse import locks
from lakehouse.settings import REPO_ROOT, Settings, child_env, get_settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


class DbtError(RuntimeError):
    """dbt failed; the message names the failing nodes."""


class WriterBusyError(RuntimeError):
    """Another dbt writer holds the warehouse build lock."""


@dataclass
class NodeResult:
    unique_id: str
    status: str
    seconds: float
    message: str = ""
    rows: int | None = None
    failures: int | None = None

    @property
    def name(self) -> str:
        return self.unique_id.split(".", 2)[-1]

    @property
    def kind(self) -> str:
        return self.unique_id.split(".", 1)[0]


@dataclass
class DbtResult:
    args: list[str]
    returncode: int
    seconds: float
    invocation_id: str | None = None
    nodes: list[NodeResult] = field(default_factory=list)
    output_tail: str = ""  # the last lines dbt printed (parse errors leave no run results)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in FAILED_STATUSES]

    def describe_failure(self) -> str:
        """What went wrong, for an error message: the failing nodes and their messages, else dbt's output."""
        if self.failed:
            return "\n".join(f"  {n.unique_id} ({n.status}): {first_lines(n.message)}" for n in self.failed)
        return "  " + (self.output_tail.strip()[-3000:] or "no output").replace("\n", "\n  ")


FAILED_STATUSES = ("error", "fail", "runtime error")


def first_lines(text: str, lines: int = 6) -> str:
    kept = text.strip().splitlines()[:lines]
    return " | ".join(line.strip() for line in kept if line.strip())


def target_path(settings: Settings) -> Path:
    return settings.paths.cache / "dbt" / "target"


def dbt_env(settings: Settings, database: Path, threads: int = 1) -> dict[str, str]:
    """Variables the profile and dbt_project.yml read (see dbt_project/profiles.yml)."""
    return {
        **settings.telemetry_env(),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target_path(settings)),
        "DBT_LOG_PATH": str(settings.paths.logs / "dbt"),
        "DBT_PACKAGES_INSTALL_PATH": str(settings.paths.cache / "dbt" / "packages"),
        "DBT_USE_COLORS": "False",
        "DBT_PARTIAL_PARSE": "True",
        "LAKEHOUSE_DBT_DATABASE": str(database),
        "LAKEHOUSE_DBT_THREADS": str(threads),
        "LAKEHOUSE_LAKE": str(settings.paths.lake),
        "LAKEHOUSE_REPORTING_CURRENCY": settings.reporting_currency,
        "LAKEHOUSE_REPORTING_TIMEZONE": settings.reporting_timezone,
        "LAKEHOUSE_LOOKBACK_DAYS": str(settings.lookback_days),
        "LAKEHOUSE_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "LAKEHOUSE_DUCKDB_THREADS": str(settings.duckdb_threads),
    }


@contextmanager
def writer_lock(settings: Settings | None = None, wait_seconds: float = 0.0) -> Iterator[None]:
    """The single-writer lock: at most one dbt process builds the warehouse at a time. Raises
    :class:`WriterBusyError` (naming the holder) if it is still held after ``wait_seconds``."""
    settings = settings or get_settings()
    lock_file = settings.paths.run / "dbt-writer.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        if not locks.acquire(fh, wait_seconds, poll=0.5):
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise WriterBusyError(
                f"another dbt writer is running ({holder}); dbt is a single writer per warehouse file"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            locks.release(fh)


def dbt_executable() -> list[str]:
    script = Path(sys.executable).parent / "dbt"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dbt.cli.main"]


def read_run_results(settings: Settings) -> tuple[str | None, list[NodeResult]]:
    path = target_path(settings) / "run_results.json"
    if not path.exists():
        return None, []
    data: dict[str, Any] = json.loads(path.read_text())
    nodes = []
    for r in data.get("results", []):
        adapter = r.get("adapter_response") or {}
        nodes.append(
            NodeResult(
                unique_id=r["unique_id"],
                status=str(r["status"]),
                seconds=float(r.get("execution_time") or 0.0),
                message=(r.get("message") or "").strip(),
                rows=adapter.get("rows_affected"),
                failures=r.get("failures"),
            )
        )
    return data.get("metadata", {}).get("invocation_id"), nodes


def run_dbt(
    args: Sequence[str],
    database: Path,
    settings: Settings | None = None,
    threads: int = 1,
    echo: bool = True,
) -> DbtResult:
    """Run ``dbt <args>`` against ``database`` (a DuckDB file). Output streams to our stdout when ``echo``
    (through Python, so an Airflow task log captures it); the last lines are kept in ``output_tail``."""
    settings = settings or get_settings()
    settings.paths.ensure()
    database.parent.mkdir(parents=True, exist_ok=True)
    env = child_env(dbt_env(settings, database, threads))
    cmd = [*dbt_executable(), *args]
    started = time.monotonic()
    results_file = target_path(settings) / "run_results.json"
    results_file.unlink(missing_ok=True)
    tail: deque[str] = deque(maxlen=200)
    proc = subprocess.Popen(
        cmd, cwd=DBT_PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()
        proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: do not leave a dbt writer behind
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    invocation_id, nodes = read_run_results(settings)
    result = DbtResult(
        list(args), proc.returncode, time.monotonic() - started, invocation_id, nodes, output_tail="".join(tail)
    )
    if not echo and proc.returncode != 0:
        sys.stderr.write(result.output_tail[-20000:])
    return result
