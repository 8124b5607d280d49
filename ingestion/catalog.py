"""Names only: the feeds and the bronze tables each writes. Imported by DAG files at parse time, so it
must stay free of heavy imports (polars, pyarrow, deltalake...)."""

from __future__ import annotations

# feed -> bronze tables it writes (restricted PII tables included)
FEED_TABLES: dict[str, tuple[str, ...]] = {}


def asset_uri(layer: str, table: str) -> str:
    """The Airflow Asset URI of a lake table (one naming scheme for every DAG)."""
    return f"lakehouse://{layer}/{table}"
