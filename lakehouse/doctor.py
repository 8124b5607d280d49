"""``lakehouse doctor``: is this machine ready? One line per check, PASS or FAIL with a fix hint."""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.settings import REPO_ROOT, Settings

MIN_FREE_DISK_GIB = 5
# packages whose pinned version matters most; the lock file says which version
KEY_PACKAGES_MAIN = (
    "apache-airflow",
    "dbt-core",
    "dbt-duckdb",
    "pyspark",
    "deltalake",
    "duckdb",
    "duckdb-extension-delta",
    "great-expectations",
    "pandas",
    "pyarrow",
    "polars",
)
KEY_PACKAGES_SUPERSET = ("apache-superset", "duckdb-engine", "duckdb", "flask-caching")
SYSTEM_PACKAGES = ("chromium", "chromium-driver", "fonts-noto-cjk")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    seconds: float = 0.0


def locked_versions(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _compare(installed: dict[str, str], pins: dict[str, str], names: tuple[str, ...]) -> list[str]:
    problems = []
    for name in names:
        want, have = pins.get(name), installed.get(name)
        if have is None:
            problems.append(f"{name} missing")
        elif want is not None and have != want:
            problems.append(f"{name} {have} (lock: {want})")
    return problems


def _installed(path: list[str] | None = None) -> dict[str, str]:
    dists = md.distributions(path=path) if path else md.distributions()
    return {d.metadata["Name"].lower().replace("_", "-"): d.version for d in dists}


def check_python(settings: Settings) -> Check:
    ok = sys.version_info[:2] == (3, 11)
    return Check(
        "python", ok, f"{sys.version.split()[0]} at {sys.executable}", "use Python 3.11 (make setup creates .venv)"
    )


def check_java(settings: Settings) -> Check:
    if settings.java_home is None:
        return Check("java", False, "no Java 17 found", "apt-get install -y openjdk-17-jre-headless (make setup does)")
    out = subprocess.run([str(settings.java_home / "bin" / "java"), "-version"], capture_output=True, text=True)
    first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else "?"
    ok = out.returncode == 0 and '"17.' in first
    return Check("java", ok, f"{first} ({settings.java_home})", "Spark 4 needs Java 17: set JAVA_HOME")


def check_main_env(settings: Settings) -> Check:
    pins = locked_versions(REPO_ROOT / "requirements" / "main.lock")
    problems = _compare(_installed(), pins, KEY_PACKAGES_MAIN)
    in_venv = Path(sys.prefix).resolve() == (REPO_ROOT / ".venv").resolve()
    if not in_venv:
        problems.append(f"running from {sys.prefix}, not .venv")
    detail = "; ".join(problems) or f"{len(pins)} locked packages, key versions match"
    return Check("main environment", not problems, detail, "run `make setup`")


def check_superset_env(settings: Settings) -> Check:
    site = sorted(settings.superset_venv.glob("lib/python3.*/site-packages"))
    if not site:
        return Check("superset environment", False, f"{settings.superset_venv} missing", "run `make setup`")
    pins = locked_versions(REPO_ROOT / "requirements" / "superset.lock")
    problems = _compare(_installed([str(site[0])]), pins, KEY_PACKAGES_SUPERSET)
    main_duck = _installed().get("duckdb")
    superset_duck = _installed([str(site[0])]).get("duckdb")
    if main_duck != superset_duck:
        problems.append(f"duckdb differs between environments ({main_duck} vs {superset_duck})")
    detail = "; ".join(problems) or f"apache-superset {pins.get('apache-superset')}, duckdb {superset_duck}"
    return Check("superset environment", not problems, detail, "run `make setup`")


def check_duckdb_delta(settings: Settings) -> Check:
    import pyarrow as pa

    from lakehouse import delta
    from lakehouse.duck import raw_connect

    with tempfile.TemporaryDirectory(dir=settings.paths.cache) as tmp:
        table = Path(tmp) / "probe"
        delta.write(table, pa.table({"x": [1, 2, 3]}))
        con = raw_connect(settings=settings)
        try:
            total = con.execute(f"select sum(x) from delta_scan('{table}')").fetchone()[0]
            autoinstall = con.execute("select current_setting('autoinstall_known_extensions')").fetchone()[0]
        finally:
            con.close()
    ok = total == 6 and autoinstall is False
    return Check(
        "duckdb delta extension",
        ok,
        f"delta_scan offline read sum={total}, autoinstall={autoinstall}",
        "pin duckdb and duckdb-extension-delta to the same version",
    )


def check_spark(settings: Settings) -> Check:
    from lakehouse.spark import get_spark, stop_spark

    spark = get_spark("lakehouse-doctor", master="local[1]", settings=settings)
    try:
        n = spark.range(1000).selectExpr("sum(id) as s").collect()[0]["s"]
        version = spark.version
    finally:
        stop_spark()
    return Check(
        "spark session",
        n == 499500,
        f"Spark {version} local session computed sum(0..999)={n}",
        "check JAVA_HOME and that .venv has pyspark",
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_ports(settings: Settings) -> Check:
    from lakehouse.services import running_services

    ours = running_services(settings)
    busy = []
    services = (
        ("airflow", "airflow-api-server", settings.airflow_port),
        ("superset", "superset", settings.superset_port),
        ("smtp", "smtp", settings.smtp_port),
    )
    for label, service, port in services:
        if not _port_free(port) and service not in ours:
            busy.append(f"{port} ({label})")
    ports = ", ".join(str(port) for _, _, port in services)
    detail = "busy: " + ", ".join(busy) if busy else f"{ports} free or held by lakehouse's own services"
    return Check(
        "ports",
        not busy,
        detail,
        "stop what holds them (`make stop` for ours), or set LAKEHOUSE_AIRFLOW_PORT / LAKEHOUSE_SUPERSET_PORT / "
        "LAKEHOUSE_SMTP_PORT",
    )


def check_disk(settings: Settings) -> Check:
    settings.paths.home.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.paths.home).free / 1024**3
    return Check(
        "disk space",
        free >= MIN_FREE_DISK_GIB,
        f"{free:.1f} GiB free at {settings.paths.home}",
        f"free at least {MIN_FREE_DISK_GIB} GiB or set LAKEHOUSE_HOME elsewhere",
    )


def check_system_packages(settings: Settings) -> Check:
    missing = []
    for pkg in SYSTEM_PACKAGES:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    detail = "missing: " + " ".join(missing) if missing else "chromium, chromium-driver and a CJK font installed"
    return Check("system packages", not missing, detail, f"apt-get install -y {' '.join(missing)} (make setup does)")


def check_home(settings: Settings) -> Check:
    try:
        settings.paths.ensure()
        probe = settings.paths.home / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("lakehouse home", False, str(exc), "set LAKEHOUSE_HOME to a writable folder")
    return Check("lakehouse home", True, f"{settings.paths.home} writable")


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    check_python,
    check_home,
    check_java,
    check_main_env,
    check_superset_env,
    check_system_packages,
    check_duckdb_delta,
    check_spark,
    check_ports,
    check_disk,
)


def run_checks(settings: Settings, skip: tuple[str, ...] = ()) -> list[Check]:
    results = []
    for fn in CHECKS:
        name = fn.__name__.removeprefix("check_")
        if name in skip:
            continue
        started = time.perf_counter()
        try:
            result = fn(settings)
        except Exception as exc:  # a crashing check is a failing check, and the others still run
            result = Check(name.replace("_", " "), False, f"{type(exc).__name__}: {exc}", "see the error above")
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results
