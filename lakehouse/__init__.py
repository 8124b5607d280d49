"""Shared core of the lakehouse: settings, Delta/DuckDB/Spark helpers and the ``lakehouse`` CLI."""

__version__ = "0.1.0"
