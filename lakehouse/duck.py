"""DuckDB connections for readers and builders.

The delta extension is loaded from the installed ``duckdb-extension-delta`` wheel (never ``INSTALL``: no
network at run time), extension auto-install is off, and the connection gets the memory and thread
budget from settings. Readers get an in-memory database with the published warehouse attached
read-only (so they never hold a write lock) and every lake table as a view ``<layer>.<table>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import duckdb

from lakehouse.settings import Settings, get_settings

LAKE_LAYERS = ("bronze", "silver", "gold", "quarantine", "_ledger", "_quality")
RESTRICTED_SUFFIX = "_pii"  # bronze tables holding raw customer PII end with this
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DuckDBSetupError(RuntimeError):
    """DuckDB could not be prepared (extension missing, warehouse absent...)."""


@lru_cache(maxsize=1)
def delta_extension_path() -> Path:
    """The delta extension file shipped in the ``duckdb-extension-delta`` wheel for this DuckDB version."""
    try:
        import duckdb_extension_delta
    except ImportError:
        raise DuckDBSetupError("duckdb-extension-delta is not installed; run `make setup`") from None
    root = Path(duckdb_extension_delta.__file__).parent / "extensions"
    wanted = root / f"v{duckdb.__version__}" / "delta.duckdb_extension"
    if not wanted.exists():
        found = sorted(p.parent.name for p in root.glob("*/delta.duckdb_extension"))
        raise DuckDBSetupError(
            f"no delta extension for DuckDB {duckdb.__version__} in {root} (found: {found or 'none'}); "
            "pin duckdb and duckdb-extension-delta to the same version"
        )
    return wanted


def _config(settings: Settings) -> dict[str, str | bool | int | float | list[str]]:
    ext_dir = settings.paths.cache / "duckdb_extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    return {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "extension_directory": str(ext_dir),
        "memory_limit": settings.duckdb_memory_limit,
        "threads": settings.duckdb_threads,
        "temp_directory": str(settings.paths.cache / "duckdb_tmp"),
    }


def raw_connect(database: str | Path = ":memory:", read_only: bool = False, settings: Settings | None = None):
    """A configured connection with the delta extension loaded, nothing attached."""
    settings = settings or get_settings()
    try:
        con = duckdb.connect(str(database), read_only=read_only, config=_config(settings))
    except duckdb.IOException as exc:
        raise DuckDBSetupError(f"cannot open {database}: {exc}") from None
    con.execute(f"LOAD '{delta_extension_path()}'")
    return con


def lake_tables(settings: Settings | None = None, include_restricted: bool = False) -> dict[tuple[str, str], Path]:
    """Every Delta table in the lake: ``(layer, table) -> path``."""
    settings = settings or get_settings()
    found: dict[tuple[str, str], Path] = {}
    for layer in LAKE_LAYERS:
        root = settings.paths.layer(layer)
        if not root.is_dir():
            continue
        for table in sorted(p for p in root.iterdir() if (p / "_delta_log").is_dir()):
            if table.name.endswith(RESTRICTED_SUFFIX) and not include_restricted:
                continue
            if _IDENT.match(table.name):
                found[(layer, table.name)] = table
    return found


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach_lake(con, settings: Settings | None = None, include_restricted: bool = False) -> list[str]:
    """Create ``<layer>.<table>`` views over ``delta_scan`` in the connection's memory catalog."""
    names = []
    for (layer, table), path in lake_tables(settings, include_restricted).items():
        con.execute(f'CREATE SCHEMA IF NOT EXISTS memory."{layer}"')
        con.execute(
            f'CREATE OR REPLACE VIEW memory."{layer}"."{table}" AS SELECT * FROM delta_scan({_quote(str(path))})'
        )
        names.append(f"{layer}.{table}")
    return names


def connect(
    warehouse: str | Path | None = None,
    lake: bool = True,
    include_restricted: bool = False,
    settings: Settings | None = None,
):
    """A reader's connection: warehouse marts attached read-only (unqualified names resolve there) and
    lake tables as ``bronze.orders``-style views. Close it when done (or use :func:`session`).

    >>> from lakehouse import connect
    >>> con = connect()
    >>> con.sql("select count(*) from fct_orders").fetchall()  # doctest: +SKIP
    """
    settings = settings or get_settings()
    con = raw_connect(settings=settings)
    try:
        search = ["memory.main"]
        wh = Path(warehouse) if warehouse else settings.paths.warehouse_file
        if wh.exists():
            con.execute(f"ATTACH {_quote(str(wh))} AS warehouse (READ_ONLY)")
            schemas = [
                r[0]
                for r in con.execute(
                    "select schema_name from duckdb_schemas() where database_name = 'warehouse' "
                    "and schema_name not in ('information_schema', 'pg_catalog') "
                    "order by schema_name = 'main' desc, schema_name"
                ).fetchall()
            ]
            search = search + [f"warehouse.{s}" for s in schemas]
        elif warehouse is not None:
            raise DuckDBSetupError(f"no warehouse file at {wh}; run `lakehouse build` and `lakehouse publish` first")
        if lake:
            attach_lake(con, settings, include_restricted)
        con.execute(f"SET search_path = {_quote(','.join(search))}")
    except Exception:
        con.close()
        raise
    return con


@contextmanager
def session(**kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with session() as con:`` — a :func:`connect` connection that is always closed."""
    con = connect(**kwargs)
    try:
        yield con
    finally:
        con.close()
