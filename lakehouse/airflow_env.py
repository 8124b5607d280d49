"""Airflow's configuration, rendered from settings as environment variables.

Everything Airflow writes lives under ``LAKEHOUSE_HOME/airflow``; services bind 127.0.0.1; examples,
telemetry and the 32 idle workers of the default parallelism are off (see the platform notes).
"""

from __future__ import annotations

import json
import os

from lakehouse.secrets import get_credentials, get_secrets
from lakehouse.settings import REPO_ROOT, Settings


def airflow_env(settings: Settings, unit_test: bool = False, port: int | None = None) -> dict[str, str]:
    home = settings.paths.airflow
    home.mkdir(parents=True, exist_ok=True)
    port = port or settings.airflow_port
    secrets = get_secrets(settings)
    passwords = home / "passwords.json"
    fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"admin": get_credentials(settings)["airflow_admin_password"]}, fh)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__FERNET_KEY": secrets["airflow_fernet_key"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["airflow_jwt_secret"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__WEBSERVER__EXPOSE_CONFIG": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SMTP__SMTP_HOST": settings.smtp_host,
        "AIRFLOW__SMTP__SMTP_PORT": str(settings.smtp_port),
        "AIRFLOW__SMTP__SMTP_MAIL_FROM": settings.mail_from,
        "AIRFLOW__SMTP__SMTP_STARTTLS": str(settings.smtp_tls),
        **settings.telemetry_env(),
    }
    if unit_test:
        env["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    return env
