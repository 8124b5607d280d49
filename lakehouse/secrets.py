"""Secrets and logins, generated once per ``LAKEHOUSE_HOME`` into files of mode 600.

``secrets.json`` holds keys (PII hash salt, service secret keys); ``credentials.json`` holds the logins
people use (Airflow, Superset, demo users). Either value can be overridden by an environment variable,
collected by :mod:`lakehouse.settings` (``Settings.secret_overrides``). Neither file is ever committed.
"""

from __future__ import annotations

import json
import os
import secrets as _random
from collections.abc import Mapping
from pathlib import Path

from lakehouse.settings import Settings, get_settings

# name -> the environment variable that overrides it
SECRET_KEYS: dict[str, str] = {
    "pii_salt": "LAKEHOUSE_PII_SALT",
    "superset_secret_key": "SUPERSET_SECRET_KEY",
    "airflow_jwt_secret": "AIRFLOW__API_AUTH__JWT_SECRET",
    "airflow_fernet_key": "AIRFLOW__CORE__FERNET_KEY",
}
CREDENTIAL_KEYS: dict[str, str] = {
    "airflow_admin_password": "LAKEHOUSE_AIRFLOW_PASSWORD",
    "superset_admin_password": "LAKEHOUSE_SUPERSET_PASSWORD",
    "superset_analyst_password": "LAKEHOUSE_SUPERSET_ANALYST_PASSWORD",
    "superset_executive_password": "LAKEHOUSE_SUPERSET_EXECUTIVE_PASSWORD",
    "superset_seller_password": "LAKEHOUSE_SUPERSET_SELLER_PASSWORD",
}


def _generate(name: str) -> str:
    if name == "airflow_fernet_key":
        import base64

        return base64.urlsafe_b64encode(_random.token_bytes(32)).decode()
    if name.endswith("password"):
        return _random.token_urlsafe(12)
    return _random.token_hex(32)


def _load_or_create(path: Path, names: Mapping[str, str]) -> dict[str, str]:
    """Read ``path``; add any missing value; write back atomically with mode 600."""
    data: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"{path}: not valid JSON ({exc}); fix or delete it to regenerate") from None
    missing = [n for n in names if n not in data]
    if missing:
        for name in missing:
            data[name] = _generate(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, path)
    os.chmod(path, 0o600)
    return data


def _resolve(path: Path, names: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    stored = _load_or_create(path, names)
    return {name: env.get(var) or stored[name] for name, var in names.items()} | {
        k: v for k, v in stored.items() if k not in names
    }


def get_secrets(settings: Settings | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Service keys, generated on first use; environment variables take precedence."""
    settings = settings or get_settings()
    return _resolve(settings.paths.secrets_file, SECRET_KEYS, settings.secret_overrides if env is None else env)


def get_credentials(settings: Settings | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Logins shown by ``lakehouse credentials``; environment variables take precedence."""
    settings = settings or get_settings()
    return _resolve(settings.paths.credentials_file, CREDENTIAL_KEYS, settings.secret_overrides if env is None else env)


def pii_salt(settings: Settings | None = None) -> str:
    return get_secrets(settings)["pii_salt"]
