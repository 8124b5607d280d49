"""End to end, as a user runs it: `lakehouse run` starts SMTP, Airflow (three services) and Superset on free
127.0.0.1 ports, triggers the ingest DAG over Airflow's REST API and follows the Asset chain to the seller reports.
Then: every DAG of the chain succeeded, the quality results were recorded, every dashboard's charts answer through
Superset's API, the reports sit in the local mailbox, a next simulated day is processed incrementally (only its
new files), and `lakehouse down` leaves nothing listening."""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import subprocess
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from lakehouse.settings import load_settings
from tests.conftest import AS_OF, free_port

REPO = Path(__file__).resolve().parents[2]
LAKEHOUSE = str(REPO / ".venv" / "bin" / "lakehouse")
RUN_TIMEOUT = 1800

pytestmark = pytest.mark.integration


def _lakehouse(args: list[str], env: dict, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([LAKEHOUSE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _ledger_files(settings) -> set[str]:
    from ingestion import ledger
    from lakehouse import delta

    rows = delta.read_arrow(ledger.path(settings), columns=["file_path", "status"]).to_pylist()
    return {r["file_path"] for r in rows if r["status"] == "ingested"}


@pytest.fixture(scope="module")
def stack(tiny_landing, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    shutil.copytree(tiny_landing, home / "landing")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LAKEHOUSE_"))}
    env.update(
        LAKEHOUSE_HOME=str(home),
        LAKEHOUSE_AS_OF=AS_OF,
        LAKEHOUSE_AIRFLOW_PORT=str(free_port()),
        LAKEHOUSE_SUPERSET_PORT=str(free_port()),
        LAKEHOUSE_SMTP_PORT=str(free_port()),
    )
    ns = SimpleNamespace(env=env, settings=load_settings(env), home=home)
    try:
        ns.first = _lakehouse(["run"], env)
        yield ns
    finally:
        _lakehouse(["down"], ns.env, timeout=120)


def test_run_goes_through_the_asset_chain(stack):
    from lakehouse.airflow_services import Client

    assert stack.first.returncode == 0, stack.first.stdout[-4000:] + stack.first.stderr[-4000:]
    out = stack.first.stdout
    assert "was triggered by the bronze Assets" in out and "was triggered by the warehouse Asset" in out, out[-3000:]
    client = Client(stack.settings)
    manual = [r for r in client.runs("ingest_landing") if r.run_type == "manual"]
    assert manual and manual[0].state == "success", "the pipeline was triggered through the REST API"
    for dag_id in ("build_warehouse", "seller_reports"):
        [run] = [r for r in client.runs(dag_id) if r.run_type == "asset_triggered"]
        assert run.state == "success", (dag_id, run)
        states = {t["task_id"]: t["state"] for t in client.task_instances(dag_id, run.run_id)}
        assert set(states.values()) <= {"success", "skipped"}, states
    build = next(r for r in client.runs("build_warehouse") if r.run_type == "asset_triggered")
    tasks = {t["task_id"]: t["state"] for t in client.task_instances("build_warehouse", build.run_id)}
    assert {"gold_attribution", "gold_forecast", "gold_insights", "check_gold", "publish"} <= set(tasks)
    assert all(s == "success" for s in tasks.values()), tasks


def test_summary_and_status_tell_the_user_what_happened(stack):
    out = stack.first.stdout
    for text in ("Rows per layer", "quarantine", "Quality: pass", "Headline KPIs", "Reports delivered", "Airflow"):
        assert text in out, text
    status = _lakehouse(["status", "--json"], stack.env, timeout=120)
    assert status.returncode == 0, status.stderr[-2000:]
    data = json.loads(status.stdout)
    assert {s["service"]: s["healthy"] for s in data["services"]} == {
        "airflow-api-server": True,
        "airflow-scheduler": True,
        "airflow-dag-processor": True,
        "superset": True,
        "smtp": True,
    }
    runs = {r["dag_id"]: r["state"] for r in data["dag_runs"]}
    assert runs["build_warehouse"] == "success" and runs["seller_reports"] == "success", runs
    assert {r["layer"] for r in data["layers"] if r["rows"] > 0} == {"bronze", "silver", "gold", "quarantine"}
    assert data["publish"]["status"] == "pass"


def test_quality_results_were_recorded(stack):
    from lakehouse import delta
    from lakehouse.warehouse import files

    manifest = json.loads(files(stack.settings).manifest.read_text())
    assert {layer: g["ok"] for layer, g in manifest["quality"]["gates"].items()} == {
        "silver": True,
        "gold": True,
        "marts": True,
    }
    results = stack.settings.paths.table("_quality", "results")
    layers = {r["layer"] for r in delta.read_arrow(results, columns=["layer"]).to_pylist()}
    assert {"bronze", "silver", "gold", "marts"} <= layers


def test_every_dashboard_chart_answers_through_superset(stack):
    from lakehouse import superset as ss

    logins = ss.demo_logins(stack.settings)
    admin = ss.Client(ss.url(stack.settings), logins["admin"].user, logins["admin"].password)
    dashboards = admin.list("dashboard")
    assert len(dashboards) == len(list(ss.BUNDLE_DIR.glob("dashboards/*.yaml")))
    failures, empty = [], []
    for dash in dashboards:
        for chart in admin.get(f"/api/v1/dashboard/{dash['id']}/charts").json()["result"]:
            resp = admin.chart_data(chart["id"])
            if resp.status_code != 200:
                failures.append((dash["dashboard_title"], chart["slice_name"], resp.status_code))
            elif not any(result["data"] for result in resp.json()["result"]):
                empty.append((dash["dashboard_title"], chart["slice_name"]))
    assert failures == [] and empty == []


def test_reports_arrived_in_the_local_mailbox(stack):
    from lakehouse import delta
    from reports.deliver import log_path

    sent = [r for r in delta.read_arrow(log_path(stack.settings)).to_pylist() if r["status"] == "sent"]
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(stack.settings.paths.mail.glob("*.eml"))
    ]
    reports = [m for m in messages if not m["Subject"].startswith("[lakehouse]")]
    alerts = [m["Subject"] for m in messages if m["Subject"].startswith("[lakehouse]")]
    assert alerts == [], "no task failed, so no alert"
    assert sent and len(reports) == len(sent)
    assert {m["Message-ID"] for m in reports} == {r["message_id"] for r in sent}
    assert all(m.get_body(("html",)) is not None and list(m.iter_attachments()) for m in reports)


def test_next_day_is_processed_incrementally(stack):
    before_files = {
        p.relative_to(stack.settings.paths.landing).as_posix() for p in stack.settings.paths.landing.rglob("*")
    }
    ingested_before = _ledger_files(stack.settings)
    # a day later: the clock moves, the simulator appends the day, the services restart with the new clock
    assert _lakehouse(["down"], stack.env, timeout=120).returncode == 0
    later = (datetime.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
    stack.env = {**stack.env, "LAKEHOUSE_AS_OF": later}
    stack.settings = load_settings(stack.env)
    simulate = _lakehouse(["simulate", "--next-day"], stack.env, timeout=600)
    assert simulate.returncode == 0, simulate.stderr[-2000:]
    new_files = {
        p.relative_to(stack.settings.paths.landing).as_posix()
        for p in stack.settings.paths.landing.rglob("*")
        if p.is_file() and not p.relative_to(stack.settings.paths.landing).as_posix().startswith("_")
    } - before_files
    assert new_files, "the simulator added no file"

    second = _lakehouse(["run"], stack.env)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    newly_ingested = _ledger_files(stack.settings) - ingested_before
    assert newly_ingested and newly_ingested <= new_files, "only the new day's files were loaded"
    assert "was triggered by the bronze Assets" in second.stdout
    from lakehouse.warehouse import files

    manifest = json.loads(files(stack.settings).manifest.read_text())
    assert manifest["base"] is not None, "the build extended the published warehouse instead of starting over"


def test_down_leaves_nothing_listening(stack):
    from lakehouse.services import alive, group_members, running_services

    settings = stack.settings
    pids = running_services(settings)
    assert set(pids) == {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "superset", "smtp"}
    down = _lakehouse(["down"], stack.env, timeout=120)
    assert down.returncode == 0, down.stderr
    ports = (settings.airflow_port, settings.superset_port, settings.smtp_port)
    assert [p for p in ports if _listening(p)] == []
    assert running_services(settings) == {}
    assert [pid for pid in pids.values() if alive(pid)] == [], "a service outlived `lakehouse down`"
    assert [p for pid in pids.values() for p in group_members(pid)] == [], "a worker or task process was left"
