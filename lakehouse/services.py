"""Background services started by ``lakehouse``: pid files under ``LAKEHOUSE_HOME/run`` and clean stops.

Each service is started in its own process group with a pid file ``run/<name>.pid``; stopping sends
SIGTERM to the group, waits, then SIGKILL. Only processes we started (by pid file) are ever signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lakehouse.settings import Settings, get_settings


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.paths.run / f"{name}.pid"


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not running
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def running_services(settings: Settings | None = None) -> dict[str, int]:
    """Services whose pid file points at a live process: name -> pid."""
    settings = settings or get_settings()
    found = {}
    if settings.paths.run.is_dir():
        for pid_file in sorted(settings.paths.run.glob("*.pid")):
            try:
                pid = int(pid_file.read_text().strip())
            except ValueError:
                continue
            if alive(pid):
                found[pid_file.stem] = pid
    return found


def start_service(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    settings: Settings | None = None,
) -> int:
    """Start ``argv`` in the background, logging to ``logs/<name>.log``; returns the pid."""
    settings = settings or get_settings()
    running = running_services(settings)
    if name in running:
        return running[name]
    settings.paths.run.mkdir(parents=True, exist_ok=True)
    settings.paths.logs.mkdir(parents=True, exist_ok=True)
    log = open(settings.paths.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    _pid_file(settings, name).write_text(str(proc.pid))
    return proc.pid


def group_members(pgid: int) -> list[int]:
    """Running processes of process group ``pgid`` (a service and everything it started: workers, task
    processes, a Spark JVM)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_service(name: str, settings: Settings | None = None, timeout: float = 20.0) -> bool:
    """Stop a service we started: SIGTERM to its whole process group, SIGKILL to whatever of the group is left
    after ``timeout``. True if something was stopped."""
    settings = settings or get_settings()
    pid_file = _pid_file(settings, name)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip() or 0)
    stopped = False
    if pid and (alive(pid) or group_members(pid)):
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and group_members(pid):
                time.sleep(0.2)
            if not group_members(pid):
                break
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped


def stop_all(settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    names = [p.stem for p in sorted(settings.paths.run.glob("*.pid"))] if settings.paths.run.is_dir() else []
    return [n for n in names if stop_service(n, settings)]
