"""Settings: defaults, overrides, and a clear error naming the variable for every bad value."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime

import pytest

from lakehouse.secrets import get_credentials, get_secrets
from lakehouse.settings import REPO_ROOT, SettingsError, load_settings, parse_size


def test_defaults():
    s = load_settings({})
    assert s.home == REPO_ROOT / "var"
    assert s.reporting_currency == "USD" and s.reporting_timezone == "UTC"
    assert s.spark_master == "local[*]"
    assert s.as_of is None and s.now().tzinfo is not None
    assert s.delta_retention_hours == 168 and s.landing_retention_days == 30
    assert s.paths.table("bronze", "orders") == REPO_ROOT / "var" / "lake" / "bronze" / "orders"


def test_overrides(tmp_path):
    s = load_settings(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_REPORTING_CURRENCY": "EUR",
            "LAKEHOUSE_REPORTING_TIMEZONE": "Asia/Shanghai",
            "LAKEHOUSE_AS_OF": "2026-03-01T08:00:00+08:00",
            "LAKEHOUSE_SPARK_MASTER": "spark://127.0.0.1:7077",
            "LAKEHOUSE_DUCKDB_THREADS": "4",
            "LAKEHOUSE_DELTA_RETENTION_HOURS": "24",
            "LAKEHOUSE_LANDING_RETENTION_DAYS": "90",
        }
    )
    assert s.delta_retention_hours == 24 and s.landing_retention_days == 90
    assert s.home == tmp_path and s.reporting_currency == "EUR"
    assert s.now() == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert s.duckdb_threads == 4 and s.spark_master.startswith("spark://")


def test_naive_as_of_is_utc():
    assert load_settings({"LAKEHOUSE_AS_OF": "2026-01-02T03:04:05"}).now() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LAKEHOUSE_REPORTING_CURRENCY": "dollars"}, "LAKEHOUSE_REPORTING_CURRENCY='dollars'"),
        ({"LAKEHOUSE_REPORTING_TIMEZONE": "Mars/Olympus"}, "not an IANA time zone"),
        ({"LAKEHOUSE_AS_OF": "yesterday"}, "LAKEHOUSE_AS_OF='yesterday': expected an ISO 8601"),
        ({"LAKEHOUSE_SPARK_MASTER": "mesos://x"}, "LAKEHOUSE_SPARK_MASTER"),
        ({"LAKEHOUSE_AIRFLOW_PORT": "99999"}, "LAKEHOUSE_AIRFLOW_PORT='99999': expected a number from 1 to 65535"),
        ({"LAKEHOUSE_DUCKDB_THREADS": "two"}, "expected a whole number"),
        ({"LAKEHOUSE_DUCKDB_MEMORY_LIMIT": "lots"}, "LAKEHOUSE_DUCKDB_MEMORY_LIMIT='lots': expected a size"),
        ({"LAKEHOUSE_SPARK_DRIVER_MEMORY": "15g"}, "exceeds LAKEHOUSE_MEMORY_BUDGET"),
        ({"LAKEHOUSE_LOOKBACK_DAYS": "1"}, "shorter than LAKEHOUSE_LATENESS_DAYS"),
        ({"LAKEHOUSE_DELTA_RETENTION_HOURS": "-1"}, "LAKEHOUSE_DELTA_RETENTION_HOURS='-1': expected a number from 0"),
        ({"LAKEHOUSE_LANDING_RETENTION_DAYS": "0"}, "LAKEHOUSE_LANDING_RETENTION_DAYS='0': expected a number from 1"),
        ({"LAKEHOUSE_SMTP_TLS": "maybe"}, "LAKEHOUSE_SMTP_TLS='maybe': expected true/false"),
        ({"LAKEHOUSE_SUPERSET_PORT": "8080"}, "must differ"),
        ({"JAVA_HOME": "/nonexistent"}, "no bin/java there"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_settings(env)


def test_parse_size():
    assert parse_size("4GB", "x") == 4 * 1024**3
    assert parse_size("512m", "x") == 512 * 1024**2
    assert parse_size("2GiB", "x") == 2 * 1024**3
    with pytest.raises(SettingsError):
        parse_size("0", "x")


def test_secrets_generated_once_mode_600_and_overridable(tmp_path):
    s = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    first = get_secrets(s, env={})
    assert len(first["pii_salt"]) == 64
    assert stat.S_IMODE(os.stat(s.paths.secrets_file).st_mode) == 0o600
    assert get_secrets(s, env={}) == first
    assert get_secrets(s, env={"LAKEHOUSE_PII_SALT": "pinned"})["pii_salt"] == "pinned"
    creds = get_credentials(s, env={})
    assert creds["airflow_admin_password"] != creds["superset_admin_password"]
    assert stat.S_IMODE(os.stat(s.paths.credentials_file).st_mode) == 0o600


def test_corrupt_secrets_file_is_clear(tmp_path):
    s = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    s.paths.secrets_file.write_text("{not json")
    with pytest.raises(RuntimeError, match=r"secrets\.json: not valid JSON"):
        get_secrets(s, env={})


def test_secret_override_through_settings(tmp_path):
    s = load_settings({"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_PII_SALT": "from-env"})
    assert get_secrets(s)["pii_salt"] == "from-env"
    assert "from-env" not in str(s.describe())


# reading the environment: os.environ.get / os.getenv / os.environ[...] not followed by '=' / copies of it
_ENV_READ = re.compile(
    r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=[^=])|dict\(os\.environ|\*\*os\.environ|os\.environ\.copy"
)


def test_no_other_module_reads_environ():
    offenders = []
    for package in ("lakehouse", "simulator", "ingestion", "spark_jobs", "expectations"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if path == REPO_ROOT / "lakehouse" / "settings.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _ENV_READ.search(line):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not offenders, "read settings via lakehouse.settings instead:\n" + "\n".join(offenders)


def test_env_read_pattern_catches_reads():
    assert _ENV_READ.search('x = os.environ["HOME"]') and _ENV_READ.search("os.getenv('A')")
    assert not _ENV_READ.search('os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"')
