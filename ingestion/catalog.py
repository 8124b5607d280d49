"""Names only: the feeds and the bronze tables each writes. Imported by DAG files at parse time, so it
must stay free of heavy imports (polars, pyarrow, deltalake...)."""

from __future__ import annotations

# feed -> bronze tables it writes (restricted PII tables included)
FEED_TABLES: dict[str, tuple[str, ...]] = {
    "orders": ("orders", "orders_pii"),
    "clicks": ("clicks",),
    "ad_spend_google_ads": ("ad_spend",),
    "ad_spend_meta": ("ad_spend",),
    "ad_spend_tiktok": ("ad_spend",),
    "ad_spend_marketplace_ads": ("ad_spend",),
    "marketing_costs": ("marketing_costs",),
    "inventory": ("inventory",),
    "shipments": ("shipments",),
    "tracking": ("tracking_events",),
    "sellers": ("sellers",),
    "products": ("products",),
    "campaigns": ("campaigns",),
    "markets": ("markets",),
    "holidays": ("holidays",),
    "fx_rates": ("fx_rates",),
}
# reference feeds do not gate the warehouse build (their Assets are informational)
REFERENCE_FEEDS = ("sellers", "products", "campaigns", "markets", "holidays", "fx_rates")


def asset_uri(layer: str, table: str) -> str:
    """The Airflow Asset URI of a lake table (one naming scheme for every DAG)."""
    return f"lakehouse://{layer}/{table}"
