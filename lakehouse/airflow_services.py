"""Airflow 3 as three services ``lakehouse up`` starts and ``lakehouse down`` stops, and a client of its REST API.

The services are ``airflow api-server`` (UI + REST + the execution API the task processes call back into),
``airflow scheduler --skip-serve-logs`` (with the LocalExecutor it runs the tasks) and ``airflow dag-processor``,
each its own process group with a pid file (``lakehouse.services``), all on 127.0.0.1 and configured by
``lakehouse.airflow_env`` (SQLite metadata database under ``LAKEHOUSE_HOME/airflow``). ``airflow standalone`` is
not used: its log servers listen on every interface and a SIGTERM leaves orphans (platform notes).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.settings import REPO_ROOT, Settings, get_settings

SERVICES = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor")
HEALTH_COMPONENTS = ("metadatabase", "scheduler", "dag_processor")


class AirflowError(RuntimeError):
    """Airflow could not be started, reached or asked something."""


def url(settings: Settings | None = None) -> str:
    return f"http://127.0.0.1:{(settings or get_settings()).airflow_port}"


def _airflow_bin(settings: Settings) -> Path:
    path = settings.venv_python.parent / "airflow"
    if not path.exists():
        raise AirflowError(f"{path} not found: run `make setup`")
    return path


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of the three services and of every task process they start: this process's, the
    ``LAKEHOUSE_*`` settings (so tasks see the same home, ports and clock) and Airflow's configuration."""
    from lakehouse.airflow_env import airflow_env

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    # AIRFLOW__SECTION__KEY variables set by the user win over the defaults (Postgres, CeleryExecutor...);
    # unit-test mode never leaks into real services
    overrides = {
        k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__") and k != "AIRFLOW__CORE__UNIT_TEST_MODE"
    }
    env = {**inherited, **settings.env(), **settings.spark_env(), **airflow_env(settings), **overrides}
    env["PATH"] = f"{settings.venv_python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def migrate(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """Create or upgrade the metadata database (once per Airflow version: ``airflow db migrate`` costs ~15 s)."""
    from importlib.metadata import version

    marker = settings.paths.airflow / f"migrated-{version('apache-airflow')}"
    if marker.exists() and (settings.paths.airflow / "airflow.db").exists():
        return
    echo("airflow: creating its metadata database (first start only)")
    out = subprocess.run(
        [str(_airflow_bin(settings)), "db", "migrate"],
        env=service_env(settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise AirflowError(
            f"`airflow db migrate` failed (exit {out.returncode}):\n{(out.stderr or out.stdout)[-3000:]}"
        )
    marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def health(settings: Settings | None = None, timeout: float = 2.0) -> dict[str, str]:
    """Component -> status from ``/api/v2/monitor/health`` (empty when the api-server does not answer)."""
    try:
        with urllib.request.urlopen(f"{url(settings)}/api/v2/monitor/health", timeout=timeout) as resp:
            body = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError):
        return {}
    return {name: str((body.get(name) or {}).get("status")) for name in HEALTH_COMPONENTS}


def healthy(settings: Settings | None = None) -> bool:
    status = health(settings)
    return bool(status) and all(v == "healthy" for v in status.values())


def start(settings: Settings | None = None, wait: float = 180.0, echo: Callable[[str], None] = print) -> dict[str, int]:
    """Start the three services (idempotent) and wait until the health endpoint reports every component healthy."""
    from lakehouse.services import running_services, start_service

    settings = settings or get_settings()
    airflow = str(_airflow_bin(settings))
    migrate(settings, echo)
    env = service_env(settings)
    argv = {
        "airflow-api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(settings.airflow_port),
                               "--workers", "1"],
        "airflow-scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "airflow-dag-processor": [airflow, "dag-processor"],
    }  # fmt: skip
    already = running_services(settings)
    pids = {name: start_service(name, argv[name], env=env, cwd=REPO_ROOT, settings=settings) for name in SERVICES}
    started = time.monotonic()
    deadline = started + wait
    while time.monotonic() < deadline:
        if healthy(settings):
            return pids
        dead = [name for name in SERVICES if name not in running_services(settings)]
        if dead:
            raise AirflowError(f"{', '.join(dead)} exited during start-up:\n{_log_tails(settings, dead)}")
        time.sleep(1.0)
    if not all(name in already for name in SERVICES):
        stop(settings)
    raise AirflowError(
        f"Airflow did not become healthy on {url(settings)} within {wait:.0f}s "
        f"(health: {health(settings) or 'no answer'}):\n{_log_tails(settings, SERVICES)}"
    )


def _log_tails(settings: Settings, names, lines: int = 15) -> str:
    out = []
    for name in names:
        log = settings.paths.logs / f"{name}.log"
        tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else ["(no log)"]
        out.append(f"--- {log}\n" + "\n".join(tail))
    return "\n".join(out)


def stop(settings: Settings | None = None) -> list[str]:
    """Stop the services (scheduler first, so no new task starts while the api-server goes)."""
    from lakehouse.services import stop_service

    settings = settings or get_settings()
    return [name for name in reversed(SERVICES) if stop_service(name, settings)]


# ---- REST client -------------------------------------------------------------------------------------------------


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    state: str
    run_type: str
    run_after: str
    start_date: str | None
    end_date: str | None
    conf: dict

    @classmethod
    def from_api(cls, body: dict) -> DagRun:
        return cls(
            dag_id=body["dag_id"],
            run_id=body["dag_run_id"],
            state=body["state"],
            run_type=body.get("run_type", ""),
            run_after=body.get("run_after") or body.get("queued_at") or "",
            start_date=body.get("start_date"),
            end_date=body.get("end_date"),
            conf=body.get("conf") or {},
        )

    @property
    def finished(self) -> bool:
        return self.state in ("success", "failed")


class Client:
    """A logged-in client of Airflow's REST API v2 (``POST /auth/token`` -> JWT bearer token)."""

    def __init__(self, settings: Settings | None = None, timeout: float = 30.0):
        import requests

        from lakehouse.secrets import get_credentials

        self.settings = settings or get_settings()
        self.base = url(self.settings)
        self.timeout = timeout
        self.session = requests.Session()
        password = get_credentials(self.settings)["airflow_admin_password"]
        resp = self.session.post(
            f"{self.base}/auth/token", json={"username": "admin", "password": password}, timeout=timeout
        )
        if resp.status_code not in (200, 201):
            raise AirflowError(f"login to {self.base} as admin failed: {resp.status_code} {resp.text[:200]}")
        self.session.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"

    def request(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs) -> Any:
        resp = self.session.request(method, f"{self.base}/api/v2{path}", timeout=self.timeout, **kwargs)
        if resp.status_code not in ok:
            raise AirflowError(f"{method} /api/v2{path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def dag(self, dag_id: str) -> dict | None:
        resp = self.session.get(f"{self.base}/api/v2/dags/{dag_id}", timeout=self.timeout)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise AirflowError(f"GET /api/v2/dags/{dag_id}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def import_errors(self) -> list[dict]:
        return self.request("GET", "/importErrors")["import_errors"]

    def wait_for_dags(self, dag_ids, timeout: float = 180.0) -> None:
        """Wait until the dag-processor has parsed every DAG; fails at once on an import error."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            errors = self.import_errors()
            if errors:
                details = "\n".join(f"{e['filename']}:\n{e['stack_trace'][-1500:]}" for e in errors)
                raise AirflowError(f"DAG files failed to import:\n{details}")
            missing = [d for d in dag_ids if self.dag(d) is None]
            if not missing:
                return
            time.sleep(2.0)
        raise AirflowError(f"DAGs not parsed within {timeout:.0f}s: {', '.join(missing)} (see the dag-processor log)")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def trigger(
        self, dag_id: str, conf: dict | None = None, note: str | None = None, logical_date: str | None = None
    ) -> DagRun:
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        if note:
            body["note"] = note
        return DagRun.from_api(self.request("POST", f"/dags/{dag_id}/dagRuns", json=body))

    def run(self, dag_id: str, run_id: str) -> DagRun:
        return DagRun.from_api(self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def runs(self, dag_id: str, limit: int = 20) -> list[DagRun]:
        """The most recent runs first."""
        body = self.request("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": limit})
        return [DagRun.from_api(r) for r in body["dag_runs"]]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        body = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
        return body["task_instances"]


def task_log_file(settings: Settings, ti: dict) -> Path:
    """Where a task instance of the REST API (a dict) has its log on disk."""
    from lakehouse.alerts import task_log_path

    return task_log_path(
        settings, ti["dag_id"], ti["dag_run_id"], ti["task_id"], int(ti.get("try_number") or 1), ti.get("map_index", -1)
    )


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a task log, its JSON records rendered as ``time level event``."""
    if not path.exists():
        return f"(no log at {path})"
    out = []
    for raw in path.read_text(errors="replace").splitlines()[-lines:]:
        try:
            rec = json.loads(raw)
        except ValueError:
            out.append(raw)
            continue
        event = rec.get("event", "")
        if rec.get("error_detail"):
            details = rec["error_detail"]
            if isinstance(details, list) and details:
                last = details[-1]
                event += f" {last.get('exc_type', '')}: {last.get('exc_value', '')}"
        out.append(f"{str(rec.get('timestamp', ''))[:19]} {rec.get('level', ''):<7} {event}".rstrip())
    return "\n".join(out)
