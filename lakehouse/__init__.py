"""Shared core of the lakehouse: settings, Delta/DuckDB/Spark helpers and the ``lakehouse`` CLI.

``from lakehouse import connect`` gives engineers a DuckDB connection over the published warehouse and
the lake (see :func:`lakehouse.duck.connect`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "connect"]


def __getattr__(name: str) -> Any:
    # lazy: importing the package (e.g. from a DAG file) must not import duckdb
    if name == "connect":
        from lakehouse.duck import connect

        return connect
    raise AttributeError(name)
