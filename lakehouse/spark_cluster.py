"""A Spark standalone cluster (one master, one worker) from the pip pyspark installation, on 127.0.0.1.

``start_standalone()`` starts ``org.apache.spark.deploy.master.Master`` and ``...worker.Worker`` through pyspark's
``bin/spark-class`` as lakehouse services (pid files under ``LAKEHOUSE_HOME/run``, logs under ``logs/``; see
:mod:`lakehouse.services`), on free ports unless given (web UIs never on 8080/8081), waits until the worker has
registered, and returns the master URL. ``stop_standalone()`` stops both by their pid files. A job then runs there
with ``get_spark(master=cluster.master_url)`` or ``python -m spark_jobs.attribution --master <url>``. The lake
must be on a file system the driver and the worker share (here: the same machine).

    cluster = start_standalone(settings, cores=1, memory="1g")
    try:
        ...  # spark://127.0.0.1:<port>
    finally:
        cluster.stop()
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lakehouse.services import start_service, stop_service
from lakehouse.settings import Settings, child_env, get_settings

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
_RESERVED_PORTS = {8080, 8081}  # Spark's default web UI ports: other people's services live there


class ClusterError(RuntimeError):
    """The standalone cluster did not come up (the message names the log to read)."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (never Spark's default UI ports 8080/8081): all sockets are
    held until every port is chosen, so no two are the same."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in _RESERVED_PORTS:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def spark_class() -> Path:
    """pyspark's ``bin/spark-class`` launcher."""
    import pyspark

    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists():
        raise ClusterError(f"{path} not found: this pyspark installation cannot start a standalone cluster")
    return path


@dataclass
class StandaloneCluster:
    master_url: str
    master_port: int
    master_ui_port: int
    worker_ui_port: int
    name: str
    settings: Settings

    @property
    def master_ui(self) -> str:
        return f"http://127.0.0.1:{self.master_ui_port}"

    def status(self) -> dict:
        """The master's JSON status (workers, cores, running applications)."""
        with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=5) as response:
            return json.loads(response.read().decode())

    def stop(self) -> None:
        stop_standalone(self.name, self.settings)


def _env(settings: Settings, work: Path) -> dict[str, str]:
    return child_env(
        {
            **settings.spark_env(),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_MASTER_HOST": "127.0.0.1",
            "SPARK_LOCAL_DIRS": str(work / "local"),
            "SPARK_WORKER_DIR": str(work / "work"),
            "SPARK_LOG_DIR": str(settings.paths.logs),
            "SPARK_PID_DIR": str(settings.paths.run),
            # the master's REST submission server would take the fixed port 6066 (and clash with other clusters)
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        }
    )


def start_standalone(
    settings: Settings | None = None,
    *,
    cores: int = 1,
    memory: str = "1g",
    name: str = "spark",
    master_port: int | None = None,
    timeout: float = 90.0,
) -> StandaloneCluster:
    """Start a master and one worker (``cores``, ``memory``) on 127.0.0.1 and wait for the worker to register."""
    settings = settings or get_settings()
    work = settings.paths.cache / f"{name}-standalone"
    for folder in (work / "local", work / "work"):
        folder.mkdir(parents=True, exist_ok=True)
    env = _env(settings, work)
    launcher = str(spark_class())
    port, master_ui, worker_ui = free_ports(3)
    port = master_port or port
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", port, master_ui, worker_ui, name, settings)
    start_service(
        f"{name}-master",
        [launcher, MASTER_CLASS, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(master_ui)],
        env=env,
        settings=settings,
    )
    try:
        start_service(
            f"{name}-worker",
            [
                launcher,
                WORKER_CLASS,
                cluster.master_url,
                "--host",
                "127.0.0.1",
                "--webui-port",
                str(worker_ui),
                "--cores",
                str(cores),
                "--memory",
                memory,
                "--work-dir",
                str(work / "work"),
            ],
            env=env,
            settings=settings,
        )
        _wait_for_worker(cluster, timeout)
    except BaseException:
        stop_standalone(name, settings)
        raise
    return cluster


def _wait_for_worker(cluster: StandaloneCluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            workers = cluster.status().get("workers", [])
            if any(w.get("state") == "ALIVE" for w in workers):
                return
        except (OSError, ValueError) as exc:  # the master's UI is not listening (or not serving JSON) yet
            last_error = exc
        time.sleep(0.5)
    logs = cluster.settings.paths.logs
    raise ClusterError(
        f"Spark standalone cluster at {cluster.master_url} had no live worker after {timeout:.0f}s "
        f"(last error: {last_error}); see {logs / (cluster.name + '-master.log')} and "
        f"{logs / (cluster.name + '-worker.log')}"
    )


def stop_standalone(name: str = "spark", settings: Settings | None = None) -> list[str]:
    """Stop the worker, then the master, by their pid files; returns the names stopped."""
    settings = settings or get_settings()
    return [service for service in (f"{name}-worker", f"{name}-master") if stop_service(service, settings)]
