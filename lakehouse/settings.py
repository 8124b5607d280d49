"""Settings: the one place the project reads its environment.

Every other module asks :func:`get_settings` instead of reading ``os.environ``. Values are validated
when read, so a bad value fails fast with the variable's name, the value and what is expected.
Configuration files for Airflow, dbt and Superset are rendered from these settings.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent

GIB = 1024**3
# variables that override generated secrets and logins (see lakehouse.secrets)
SECRET_ENV_VARS = (
    "LAKEHOUSE_PII_SALT",
    "SUPERSET_SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "LAKEHOUSE_AIRFLOW_PASSWORD",
    "LAKEHOUSE_SUPERSET_PASSWORD",
    "LAKEHOUSE_SUPERSET_ANALYST_PASSWORD",
    "LAKEHOUSE_SUPERSET_EXECUTIVE_PASSWORD",
    "LAKEHOUSE_SUPERSET_SELLER_PASSWORD",
)
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class SettingsError(ValueError):
    """A setting has a value the project cannot use."""


def parse_size(text: str, name: str) -> int:
    """Parse ``4GB``, ``512m``, ``2GiB`` or a byte count into bytes (binary units)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise SettingsError(f"{name}={text!r}: expected a size such as 4GB, 512MB or 2GiB")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * _SIZE_UNITS[unit])
    if size <= 0:
        raise SettingsError(f"{name}={text!r}: must be greater than zero")
    return size


def _env_name(field_name: str) -> str:
    return "LAKEHOUSE_" + field_name.upper()


@dataclass(frozen=True)
class Paths:
    """Where runtime state lives: everything under ``LAKEHOUSE_HOME``."""

    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    def layer(self, name: str) -> Path:
        if name not in ("bronze", "silver", "gold", "quarantine", "_ledger", "_quality"):
            raise ValueError(f"unknown lake layer {name!r}")
        return self.lake / name

    def table(self, layer: str, table: str) -> Path:
        return self.layer(layer) / table

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def warehouse_file(self) -> Path:
        return self.warehouse / "warehouse.duckdb"

    @property
    def airflow(self) -> Path:
        return self.home / "airflow"

    @property
    def superset(self) -> Path:
        return self.home / "superset"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def mail(self) -> Path:
        return self.home / "mail"

    @property
    def bench(self) -> Path:
        return self.home / "bench"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        """Pid files of services started by ``lakehouse``."""
        return self.home / "run"

    @property
    def cache(self) -> Path:
        """Engine caches: DuckDB extensions, Spark ivy, Spark scratch."""
        return self.home / "cache"

    @property
    def secrets_file(self) -> Path:
        return self.home / "secrets.json"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    def all(self) -> dict[str, Path]:
        """Every named location, for ``lakehouse paths``."""
        named = {
            "home": self.home,
            "landing": self.landing,
            "lake": self.lake,
            **{f"lake/{n}": self.layer(n) for n in ("bronze", "silver", "gold", "quarantine", "_ledger", "_quality")},
            "warehouse": self.warehouse,
            "warehouse_file": self.warehouse_file,
            "airflow": self.airflow,
            "superset": self.superset,
            "reports": self.reports,
            "mail": self.mail,
            "bench": self.bench,
            "logs": self.logs,
            "run": self.run,
            "cache": self.cache,
            "secrets_file": self.secrets_file,
            "credentials_file": self.credentials_file,
        }
        return named

    def ensure(self) -> Paths:
        """Create the runtime layout (idempotent)."""
        for name, path in self.all().items():
            if not name.endswith("_file"):
                path.mkdir(parents=True, exist_ok=True)
        return self


@dataclass(frozen=True)
class Settings:
    """Validated project settings. Build with :func:`load_settings`; read with :func:`get_settings`."""

    home: Path = field(default=REPO_ROOT / "var", metadata={"env": "LAKEHOUSE_HOME", "doc": "runtime state root"})
    reporting_currency: str = field(default="USD", metadata={"doc": "ISO 4217 code all reporting amounts use"})
    reporting_timezone: str = field(default="UTC", metadata={"doc": "IANA zone for reporting dates"})
    as_of: datetime | None = field(
        default=None,
        metadata={"doc": "pinned 'now' (ISO 8601) for freshness, future-timestamp rules and report periods"},
    )
    spark_master: str = field(default="local[*]", metadata={"doc": "Spark master URL, e.g. spark://127.0.0.1:7077"})
    spark_driver_memory: str = field(default="4g", metadata={"doc": "Spark driver memory"})
    spark_executor_memory: str = field(default="2g", metadata={"doc": "Spark executor memory (cluster mode)"})
    spark_shuffle_partitions: int = field(default=8, metadata={"doc": "spark.sql.shuffle.partitions"})
    duckdb_memory_limit: str = field(default="4GB", metadata={"doc": "DuckDB memory_limit per connection"})
    duckdb_threads: int = field(default=2, metadata={"doc": "DuckDB threads per connection"})
    memory_budget: str = field(default="16GiB", metadata={"doc": "ceiling for all engines running together"})
    lateness_days: int = field(default=3, metadata={"doc": "accepted lateness of landing files"})
    lookback_days: int = field(default=7, metadata={"doc": "incremental lookback window (must cover lateness)"})
    attribution_lookback_days: int = field(
        default=30, metadata={"doc": "attribution: days a touch may precede the conversion it is credited to"}
    )
    delta_retention_hours: int = field(
        default=168,
        metadata={
            "doc": "vacuum keeps Delta files removed less than this many hours ago (versions a publish, rollback "
            "or pending build recorded are kept regardless); below 168 turns delta-rs's safety check off"
        },
    )
    landing_retention_days: int = field(
        default=30,
        metadata={"doc": "landing files the ingest ledger records as ingested are deleted after this many days"},
    )
    airflow_port: int = field(default=8080, metadata={"doc": "Airflow api-server port (127.0.0.1)"})
    superset_port: int = field(default=8088, metadata={"doc": "Superset port (127.0.0.1)"})
    smtp_host: str = field(default="127.0.0.1", metadata={"doc": "SMTP server for reports and alerts"})
    smtp_port: int = field(default=8025, metadata={"doc": "SMTP port"})
    smtp_tls: bool = field(default=False, metadata={"doc": "use STARTTLS"})
    smtp_user: str = field(default="", metadata={"doc": "SMTP login (empty: no auth)"})
    smtp_password: str = field(default="", metadata={"doc": "SMTP password"})
    mail_from: str = field(default="reports@lakehouse.local", metadata={"doc": "sender address"})
    admin_email: str = field(default="data-team@lakehouse.local", metadata={"doc": "where alerts go"})
    java_home: Path | None = field(default=None, metadata={"env": "JAVA_HOME", "doc": "Java 17 for Spark"})
    secret_overrides: Mapping[str, str] = field(
        default_factory=dict, repr=False, metadata={"internal": True, "doc": "secret values given by environment"}
    )

    @property
    def paths(self) -> Paths:
        return Paths(self.home)

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.reporting_timezone)

    def now(self) -> datetime:
        """The as-of time: pinned by ``LAKEHOUSE_AS_OF`` or the wall clock, always UTC-aware."""
        return self.as_of if self.as_of is not None else datetime.now(UTC)

    @property
    def venv_python(self) -> Path:
        """The main environment's interpreter (Spark workers run it)."""
        return REPO_ROOT / ".venv" / "bin" / "python"

    @property
    def superset_venv(self) -> Path:
        return REPO_ROOT / ".venv-superset"

    def spark_env(self) -> dict[str, str]:
        """Environment a Spark JVM and its Python workers need (see platform notes)."""
        env = {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": str(
                self.venv_python if self.venv_python.exists() else Path(shutil.which("python3") or "python3")
            ),
        }
        if self.java_home is not None:
            env["JAVA_HOME"] = str(self.java_home)
        return env

    def telemetry_env(self) -> dict[str, str]:
        """Variables that switch every tool's telemetry off."""
        return {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "false",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "SCARF_ANALYTICS": "false",
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "SUPERSET_FEATURE_FLAGS": "",
        }

    def env(self) -> dict[str, str]:
        """These settings as ``LAKEHOUSE_*`` variables, for the services and task processes ``lakehouse`` starts."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("internal") or value is None or value == "":
                continue
            if f.name == "as_of":
                value = value.isoformat()
            out[f.metadata.get("env", _env_name(f.name))] = str(value)
        return out

    def describe(self) -> dict[str, str]:
        """Each setting with its variable name and value (secrets excluded: they live in secrets.json)."""
        out = {}
        for f in fields(self):
            if f.metadata.get("internal"):
                continue
            value = getattr(self, f.name)
            if f.name == "smtp_password" and value:
                value = "********"
            out[f.metadata.get("env", _env_name(f.name))] = "" if value is None else str(value)
        return out


def _parse_bool(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}={text!r}: expected true/false")


def _parse_int(text: str, name: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={text!r}: expected a number from {low} to {high}")
    return value


def _parse_as_of(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(f"{name}={text!r}: expected an ISO 8601 time such as 2026-06-30T12:00:00+00:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _detect_java_home() -> Path | None:
    for candidate in sorted(Path("/usr/lib/jvm").glob("java-17-openjdk*")):
        if (candidate / "bin" / "java").exists():
            return candidate
    return None


_PORTS = ("airflow_port", "superset_port", "smtp_port")
_INTS = {
    "spark_shuffle_partitions": (1, 10_000),
    "duckdb_threads": (1, 256),
    "lateness_days": (0, 60),
    "lookback_days": (0, 366),
    "attribution_lookback_days": (1, 366),
    "delta_retention_hours": (0, 24 * 3660),
    "landing_retention_days": (1, 3660),
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.metadata.get("internal"):
            continue
        name = f.metadata.get("env", _env_name(f.name))
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        if f.name == "home":
            values["home"] = Path(raw).expanduser().resolve()
        elif f.name == "java_home":
            path = Path(raw)
            if not (path / "bin" / "java").exists():
                raise SettingsError(f"{name}={raw!r}: no bin/java there; point it at a Java 17 installation")
            values["java_home"] = path
        elif f.name == "as_of":
            values["as_of"] = _parse_as_of(raw, name)
        elif f.name in _PORTS:
            values[f.name] = _parse_int(raw, name, 1, 65535)
        elif f.name in _INTS:
            values[f.name] = _parse_int(raw, name, *_INTS[f.name])
        elif f.name == "smtp_tls":
            values[f.name] = _parse_bool(raw, name)
        else:
            values[f.name] = raw.strip()
    values["secret_overrides"] = {k: env[k] for k in SECRET_ENV_VARS if env.get(k)}
    if "java_home" not in values:
        values["java_home"] = _detect_java_home()
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(s: Settings) -> None:
    if not re.fullmatch(r"[A-Z]{3}", s.reporting_currency):
        raise SettingsError(
            f"LAKEHOUSE_REPORTING_CURRENCY={s.reporting_currency!r}: expected an ISO 4217 code in capitals, e.g. USD"
        )
    try:
        ZoneInfo(s.reporting_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"LAKEHOUSE_REPORTING_TIMEZONE={s.reporting_timezone!r}: not an IANA time zone (e.g. UTC, Asia/Shanghai)"
        ) from None
    if not (s.spark_master.startswith(("local", "spark://", "yarn", "k8s://"))):
        raise SettingsError(
            f"LAKEHOUSE_SPARK_MASTER={s.spark_master!r}: expected local[*], local[N] or spark://host:port"
        )
    if s.lookback_days < s.lateness_days:
        raise SettingsError(
            f"LAKEHOUSE_LOOKBACK_DAYS={s.lookback_days} is shorter than LAKEHOUSE_LATENESS_DAYS={s.lateness_days}: "
            "increments would miss late files"
        )
    duck = parse_size(s.duckdb_memory_limit, "LAKEHOUSE_DUCKDB_MEMORY_LIMIT")
    driver = parse_size(s.spark_driver_memory, "LAKEHOUSE_SPARK_DRIVER_MEMORY")
    executor = parse_size(s.spark_executor_memory, "LAKEHOUSE_SPARK_EXECUTOR_MEMORY")
    budget = parse_size(s.memory_budget, "LAKEHOUSE_MEMORY_BUDGET")
    # Airflow (~0.6 GiB) and Superset (~0.5 GiB) idle beside the engines: reserve 2 GiB for them.
    needed = duck + driver + executor + 2 * GIB
    if needed > budget:
        raise SettingsError(
            f"engine memory ({s.duckdb_memory_limit} DuckDB + {s.spark_driver_memory} Spark driver + "
            f"{s.spark_executor_memory} executor + 2GiB services) exceeds LAKEHOUSE_MEMORY_BUDGET={s.memory_budget}"
        )
    if len({s.airflow_port, s.superset_port, s.smtp_port}) < 3:
        raise SettingsError("LAKEHOUSE_AIRFLOW_PORT, LAKEHOUSE_SUPERSET_PORT and LAKEHOUSE_SMTP_PORT must differ")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process (Airflow, dbt, Superset, Spark): ours plus ``extra``."""
    return {**os.environ, **(extra or {})}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()`` after changing env)."""
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
