"""The lakehouse CLI: help everywhere, paths/settings/credentials output, clear configuration errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lakehouse.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def _all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _all_commands(command, (*prefix, name))


def test_every_command_has_help(runner):
    commands = list(_all_commands(cli))
    assert {"doctor", "paths", "settings", "credentials", "down", "bench"} <= {c[0] for c in commands}
    for command in commands:
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output
        assert cli.get_command(None, command[0]).help, f"{command} has no help text"


def test_paths_json_under_home(runner, lakehouse_home):
    result = runner.invoke(cli, ["paths", "--json"])
    assert result.exit_code == 0
    paths = json.loads(result.output)
    assert paths["home"] == str(lakehouse_home)
    assert paths["lake/bronze"] == str(lakehouse_home / "lake" / "bronze")
    assert all(p.startswith(str(lakehouse_home)) for p in paths.values())


def test_bad_setting_exits_2_with_message(runner, monkeypatch):
    from lakehouse.settings import reset_settings

    monkeypatch.setenv("LAKEHOUSE_REPORTING_TIMEZONE", "Nowhere/Land")
    reset_settings()
    try:
        result = runner.invoke(cli, ["paths"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert result.exit_code == 2
    assert "LAKEHOUSE_REPORTING_TIMEZONE='Nowhere/Land'" in result.output


def test_credentials_json(runner):
    result = runner.invoke(cli, ["credentials", "--json"])
    assert result.exit_code == 0
    logins = json.loads(result.output)
    assert logins["airflow"]["url"].startswith("http://127.0.0.1:")
    assert len(logins["superset"]["password"]) >= 12


def test_settings_hides_secrets(runner, monkeypatch):
    from lakehouse.settings import reset_settings

    monkeypatch.setenv("LAKEHOUSE_SMTP_PASSWORD", "hunter2")
    reset_settings()
    try:
        result = runner.invoke(cli, ["settings", "--json"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert result.exit_code == 0 and "hunter2" not in result.output
    assert json.loads(result.output)["LAKEHOUSE_SMTP_PASSWORD"] == "********"


def test_status_on_a_home_with_nothing_running(runner, tmp_path, monkeypatch):
    from lakehouse.settings import reset_settings

    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "empty"))
    reset_settings()
    try:
        result = runner.invoke(cli, ["status", "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert {s["service"] for s in data["services"]} == {
            "airflow-api-server",
            "airflow-scheduler",
            "airflow-dag-processor",
            "superset",
            "smtp",
        }
        assert not any(s["healthy"] or s["pid"] for s in data["services"])
        assert data["dag_runs"] == [] and data["publish"] is None
        assert [(r["layer"], r["rows"]) for r in data["layers"]] == [
            ("bronze", 0),
            ("silver", 0),
            ("gold", 0),
            ("quarantine", 0),
        ]
        text = runner.invoke(cli, ["status"])
        assert text.exit_code == 0 and "Airflow is not up" in text.output and "never" in text.output
    finally:
        reset_settings()


def test_backfill_refuses_a_reversed_range(runner):
    result = runner.invoke(cli, ["backfill", "--since", "2026-06-07", "--until", "2026-06-01"])
    assert result.exit_code == 2 and "before --since" in result.output
