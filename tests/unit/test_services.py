"""Background services: pid files, status, and stops that leave no process behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from lakehouse.services import group_members, running_services, start_service, stop_all, stop_service


def test_start_status_stop(settings):
    # a parent that spawns a child: stopping must end the whole process group
    code = "import subprocess, time; subprocess.Popen(['sleep', '300']); time.sleep(300)"
    pid = start_service("probe", [sys.executable, "-c", code], settings=settings)
    assert running_services(settings)["probe"] == pid
    assert start_service("probe", [sys.executable, "-c", code], settings=settings) == pid  # idempotent
    time.sleep(0.5)
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == pid]
    assert children, "the probe should have a child"
    assert stop_service("probe", settings=settings)
    assert "probe" not in running_services(settings)
    time.sleep(0.2)
    assert not any(_exists(c) for c in children), "child left behind"
    assert not (settings.paths.run / "probe.pid").exists()


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(settings):
    # the leader exits on SIGTERM at once; its child ignores SIGTERM and would be left running
    child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(300)"
    pid = start_service("stubborn", [sys.executable, "-c", code], settings=settings)
    deadline = time.monotonic() + 10
    while len(group_members(pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    members = group_members(pid)
    assert len(members) == 2, members
    assert stop_service("stubborn", settings=settings, timeout=1.0)
    assert group_members(pid) == [], "the SIGTERM-proof child outlived the stop"
    assert not any(_exists(m) for m in members)


def test_stop_all_with_stale_pid_file(settings):
    settings.paths.run.mkdir(parents=True, exist_ok=True)
    (settings.paths.run / "ghost.pid").write_text("999999")
    assert "ghost" not in running_services(settings)
    assert stop_all(settings) == []
    assert not (settings.paths.run / "ghost.pid").exists()


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _ppid(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else -1


def _exists(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"
