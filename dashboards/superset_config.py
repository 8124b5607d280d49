"""Superset configuration for the lakehouse (loaded by Superset through ``SUPERSET_CONFIG_PATH``).

Runs inside ``.venv-superset`` (which does not have the ``lakehouse`` package): everything comes from the
environment that ``lakehouse superset`` sets up. Metadata lives in SQLite under ``LAKEHOUSE_HOME/superset``;
the secret key comes from ``SUPERSET_SECRET_KEY`` or ``LAKEHOUSE_HOME/secrets.json`` (mode 600, generated once
by ``lakehouse.secrets``); the content security policy allows only this server, which also blocks the
frontend's telemetry pixel.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

_home = os.environ.get("LAKEHOUSE_HOME")
if not _home:
    raise RuntimeError("LAKEHOUSE_HOME is not set: start Superset with `lakehouse superset up`")
LAKEHOUSE_HOME = Path(_home)
SUPERSET_HOME = LAKEHOUSE_HOME / "superset"


def _secret_key() -> str:
    if os.environ.get("SUPERSET_SECRET_KEY"):
        return os.environ["SUPERSET_SECRET_KEY"]
    secrets_file = LAKEHOUSE_HOME / "secrets.json"
    try:
        return json.loads(secrets_file.read_text())["superset_secret_key"]
    except (OSError, KeyError, ValueError):
        raise RuntimeError(
            f"no Superset secret key: set SUPERSET_SECRET_KEY or run `lakehouse superset up` (writes {secrets_file})"
        ) from None


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{SUPERSET_HOME / 'superset.db'}?check_same_thread=false"
DATA_DIR = str(SUPERSET_HOME)
UPLOAD_FOLDER = str(SUPERSET_HOME / "uploads")

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,  # dashboards carry the roles that may open them (set by `lakehouse superset import`)
    "ENABLE_TEMPLATE_PROCESSING": False,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    "DRILL_BY": True,
    "DRILL_TO_DETAIL": True,
}

# no outside requests: only this server (Superset's default also allows telemetry and map hosts)
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG
CONTENT_SECURITY_POLICY_WARNING = False

# the warehouse is opened read-only with DuckDB's file access off (see the bundle's database); no writes, no uploads
SQLLAB_CTAS_NO_LIMIT = False
ROW_LIMIT = 50_000
SQL_MAX_ROW = 100_000
SUPERSET_WEBSERVER_TIMEOUT = 120
SHOW_STACKTRACE = False
WTF_CSRF_ENABLED = True
FAB_ADD_SECURITY_API = True
PUBLIC_ROLE_LIKE = None
AUTH_USER_REGISTRATION = False
RECAPTCHA_PUBLIC_KEY = ""
MAPBOX_API_KEY = ""
SLACK_API_TOKEN = None


# ---- the warehouse: one DuckDB database instance per published version, per server process --------------------
# Superset makes a new engine (NullPool) for every query, so each chart query opened warehouse.duckdb again:
# catalog load and a cold buffer pool every time (~18 ms against ~1 ms on the tiny world). DuckDB gives a new
# connection the instance already open for the same file path (symlinks resolved), which is the reuse wanted, but
# `lakehouse publish` replaces the file with os.replace: an instance kept open on that path would go on serving
# the old file to every new connection. So each version of the file gets its own path, a hard link under
# SUPERSET_HOME/pinned/<pid>/ named with a counter, held open by one connection; queries connect to the link of
# the version the published path holds now (device, inode, mtime), so the first query after a publish opens the
# new version. A replaced version is closed and unlinked one publish later (in-flight queries keep their own
# connections). Where hard links are not possible (another filesystem), every query opens the file as before.
_PIN_DIR = SUPERSET_HOME / "pinned"
_PIN_LOCK = threading.Lock()
_PINNED: dict[str, tuple[tuple[int, int, int], str, object]] = {}  # path -> (version, link, open connection)
_RETIRED: dict[str, tuple[str, object]] = {}
_PIN_STATE = {"count": 0, "disabled": False}


def _version(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns)


def _clear_links_of_gone_processes() -> None:
    import shutil

    for folder in _PIN_DIR.glob("*"):
        pid = int(folder.name) if folder.name.isdigit() else None
        if pid == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)  # a previous process with this pid
            continue
        try:
            if pid is not None:
                os.kill(pid, 0)
                continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _pin(path: str, uri, params: dict):
    import copy

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    version = _version(os.stat(path))
    with _PIN_LOCK:
        current = _PINNED.get(path)
        if current is not None and current[0] == version:
            return uri.set(database=current[1])
        if _PIN_STATE["count"] == 0:
            _clear_links_of_gone_processes()
        folder = _PIN_DIR / str(os.getpid())
        folder.mkdir(parents=True, exist_ok=True)
        _PIN_STATE["count"] += 1
        link = folder / f"{Path(path).stem}-{_PIN_STATE['count']}.duckdb"
        os.link(path, link)
        try:
            pinned = uri.set(database=str(link))
            kwargs = {**copy.deepcopy(params), "poolclass": NullPool}
            keeper = create_engine(pinned, **kwargs).raw_connection()  # the same arguments as every query's
        except Exception:
            link.unlink()
            raise
        _PINNED[path] = (_version(os.stat(link)), str(link), keeper)  # the version the link really holds
        if path in _RETIRED:  # two versions back: no query can still be connecting to it
            old_link, old_keeper = _RETIRED.pop(path)
            old_keeper.close()
            Path(old_link).unlink(missing_ok=True)
        if current is not None:
            _RETIRED[path] = (current[1], current[2])
        return pinned


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):
    path = uri.database
    if (
        not _PIN_STATE["disabled"]
        and uri.drivername == "duckdb"
        and path
        and (params.get("connect_args") or {}).get("read_only")
        and os.path.isfile(path)
    ):
        try:
            return _pin(path, uri, params), params
        except Exception:  # never fail a query for the optimisation: open the file per query, as before
            import logging

            _PIN_STATE["disabled"] = True
            logging.getLogger(__name__).warning("cannot keep %s open; opening it per query", path, exc_info=True)
    return uri, params
