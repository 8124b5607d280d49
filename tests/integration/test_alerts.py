"""A task that fails for good mails the admin address (through the configured SMTP server) naming the DAG, the
task, the run and where its log is; here a real SMTP server receives it and the failure is a quality gate's."""

from __future__ import annotations

import email
import json
import os
from email import policy
from pathlib import Path

import pytest

from lakehouse.settings import get_settings, reset_settings
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture
def mailbox_home(lakehouse_home, tmp_path, monkeypatch):
    """A LAKEHOUSE_HOME whose published warehouse failed its quality gate, and a real SMTP server."""
    from lakehouse.warehouse import files
    from reports.smtp_server import start

    port = free_port()
    controller = start(port, tmp_path / "mail")
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LAKEHOUSE_SMTP_PORT", str(port))
    reset_settings()
    f = files(get_settings())
    f.published.parent.mkdir(parents=True, exist_ok=True)
    f.published.write_bytes(b"")
    f.manifest.write_text(json.dumps({"published_at": "2026-06-30T00:00:00+00:00", "quality": {"status": "fail"}}))
    yield tmp_path / "mail"
    controller.stop()
    monkeypatch.undo()
    reset_settings()


def test_a_failed_gate_mails_the_admin_with_dag_task_and_log(airflow_db, mailbox_home):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags" / "seller_reports.py"), safe_mode=False).dags["seller_reports"]
    for task in dag.tasks:
        task.retries = 0  # dag.test() would sit out the retry delay
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["check_published"].endswith("failed"), states

    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in mailbox_home.glob("*.eml")]
    alerts = [m for m in messages if "FAILED seller_reports.check_published" in m["Subject"]]
    assert len(alerts) == 1, [m["Subject"] for m in messages]
    alert = alerts[0]
    settings = get_settings()
    assert alert["To"] == settings.admin_email
    body = alert.get_content()
    assert "DAG:      seller_reports" in body and "Task:     check_published" in body
    assert "NotPublishedError" in body and "quality status is 'fail'" in body
    log_file = next(line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("Log file:"))
    assert log_file.startswith(os.path.join(airflow_db["AIRFLOW__LOGGING__BASE_LOG_FOLDER"], "dag_id=seller_reports"))
    assert f"run_id={run.run_id}" in log_file and "task_id=check_published" in log_file
    assert [m for m in messages if m not in alerts] == [], "only the failed task alerts (downstream tasks did not run)"
