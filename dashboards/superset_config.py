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
