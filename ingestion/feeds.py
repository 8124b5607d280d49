"""The marketplace's landing feeds and their contracts (versioned; see ``simulator/FORMATS.md`` for the
source formats and ``docs/bronze_tables.md`` for the generated reference).

Each paid ad platform's export has its own shape and its own contract, and all four load one normalised
``bronze.ad_spend`` table. Raw customer PII (name, email, phone, address, the source customer id) goes only
to ``bronze.orders_pii``; everything else carries ``customer_key``, a salted hash of the source customer id
computed the same way for orders and clickstream users.
"""

from __future__ import annotations

from functools import partial

import polars as pl

from ingestion.contracts import Contract, Field
from ingestion.loader import Feed
from ingestion.readers import read_csv, read_json_array, read_json_lines, read_json_lines_batch
from lakehouse import delta
from lakehouse.settings import Settings

MARKETS = (
    "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "BR", "MX", "JP", "KR", "AU", "SA", "AE", "ID", "TH", "VN",
    "PH", "MY", "SG",
)  # fmt: skip
# ISO 4217 codes the marketplace trades or pays in (XXX, "no currency", is deliberately absent)
CURRENCIES = (
    "USD", "CAD", "GBP", "EUR", "PLN", "BRL", "MXN", "JPY", "KRW", "AUD", "SAR", "AED", "IDR", "THB", "VND", "PHP",
    "MYR", "SGD", "CNY", "HKD", "TRY", "CHF", "SEK", "NOK", "DKK", "CZK", "HUF", "RON", "NZD", "INR", "ZAR", "TWD",
    "CLP", "COP", "PEN", "ARS", "EGP", "QAR", "KWD", "ILS",
)  # fmt: skip
ORDER_STATUSES = ("created", "paid", "cancelled", "shipped", "delivered", "returned", "refunded")
EVENT_NAMES = ("page_view", "search", "product_view", "add_to_cart", "begin_checkout", "purchase")
TRACKING_EVENTS = (
    "picked_up", "departed_origin", "export_customs_cleared", "in_transit", "arrived_destination",
    "import_customs_held", "import_customs_cleared", "out_for_delivery", "delivered", "exception", "returned_to_sender",
)  # fmt: skip
WAREHOUSES = ("CN-SZX", "CN-YIW", "CN-CAN", "US-ONT", "DE-LEJ", "GB-BHX")
SELLER_ID = r"^S\d{6}$"
ORDER_ID = r"^PO\d{8}$"
SKU = r"^SKU-[0-9A-F]{10}$"
# Largest plausible single order/amount in its own currency units: VND and IDR run to tens of millions
# for a normal basket; the planted absurd values (99999999.00, 987654321, 1e9) are above this.
MAX_AMOUNT = 60_000_000

csv = read_csv


def _money(name: str, source: str | None = None, required: bool = True, **kw) -> Field:
    return Field(name, "decimal(18,4)", source=source, required=required, min=0, max=MAX_AMOUNT, **kw)


MAX_COUNT = 50_000_000  # daily impressions/clicks per campaign, units per SKU and warehouse


def _count(name: str, source: str | None = None) -> Field:
    return Field(name, "int", source=source, required=True, min=0, max=MAX_COUNT)


ORDERS = Contract(
    feed="orders",
    version=1,
    description="Order versions from the order management system: one row per status change (latest version "
    "per order is picked in silver). Amounts in the order currency.",
    format="gzip JSON Lines, hourly",
    fields=(
        Field("order_id", required=True, pattern=ORDER_ID),
        Field("version", "int", required=True, min=1, max=100),
        Field("status", required=True, accepted=ORDER_STATUSES),
        Field("created_at", "timestamp", required=True, keep_offset=True),
        Field("updated_at", "timestamp", required=True, keep_offset=True, description="event time of the version"),
        Field("marketplace", required=True, upper=True, accepted=MARKETS),
        Field("seller_id", required=True, pattern=SELLER_ID),
        Field("currency", required=True, upper=True, accepted=CURRENCIES),
        Field("customer_id", source="buyer.customer_id", required=True, pii=True),
        Field("buyer_name", source="buyer.name", pii=True),
        Field("buyer_email", source="buyer.email", pii=True),
        Field("buyer_phone", source="buyer.phone", pii=True),
        Field("buyer_address", "json", source="buyer.address", pii=True),
        Field("buyer_language", source="buyer.language"),
        Field("buyer_signup_date", "date", source="buyer.signup_date"),
        Field(
            "items",
            "json",
            required=True,
            items=(
                ("line_no", "int", True),
                ("sku", "string", True),
                ("qty", "int", True),
                ("unit_price", "float", True),
                ("discount", "float", False),
            ),
            description="order lines as JSON: line_no, sku, qty, unit_price, discount (line total)",
        ),
        _money("subtotal"),
        _money("discount_total"),
        _money("shipping_fee"),
        _money("tax"),
        _money("total"),
        Field("payment_method", source="payment.method"),
        Field(
            "payment_status",
            source="payment.status",
            accepted=("pending", "captured", "voided", "refunded", "partially_refunded"),
        ),
        Field("service_level", accepted=("economy", "standard", "express")),
        Field("shipments", "json", description="[{shipment_id, tracking_number, carrier}] once shipped"),
        _money("refund_amount", required=False),
    ),
    primary_key=("order_id", "version"),
    event_time="updated_at",
    partition_by=("event_date",),
    hash_fields=(("customer_id", "customer_key"),),
)

CLICKS = Contract(
    feed="clicks",
    version=1,
    description="Web/app analytics events. The logged-in user id is stored only as customer_key.",
    format="gzip NDJSON, hourly",
    fields=(
        Field("event_id", required=True, pattern=r"^[0-9a-f]{16}$"),
        Field("event_name", required=True, accepted=EVENT_NAMES),
        Field("event_ts", "timestamp", required=True),
        Field("anonymous_id", required=True),
        Field("user_id", description="source customer id (hashed into customer_key, not stored)"),
        Field("session_id", required=True),
        Field("page"),
        Field("referrer"),
        Field("utm_source"),
        Field("utm_medium"),
        Field("utm_campaign"),
        Field("gclid"),
        Field("fbclid"),
        Field("ttclid"),
        Field("device", accepted=("mobile", "desktop", "tablet")),
        Field("platform", accepted=("web", "app")),
        Field("country", upper=True, accepted=MARKETS),
        Field("language"),
        Field("product_id"),
        Field("search_term"),
        Field("order_id", pattern=ORDER_ID),
        Field("value", "decimal(18,4)", min=0, max=MAX_AMOUNT),
        Field("currency", upper=True, accepted=CURRENCIES),
    ),
    primary_key=("event_id",),
    event_time="event_ts",
    partition_by=("event_date",),
    hash_fields=(("user_id", "customer_key"),),
)


# the normalised ad_spend schema every platform's export maps to (platform-specific fields go to _extra)
AD_SPEND_COLUMNS = ("date", "account_id", "campaign_id", "campaign_name", "currency", "impressions", "clicks", "spend")


def _ad_contract(platform: str, version: int, description: str, fmt: str, fields: tuple[Field, ...]) -> Contract:
    return Contract(
        feed=f"ad_spend_{platform}",
        version=version,
        description=description,
        format=fmt,
        fields=fields,
        primary_key=("platform", "date", "campaign_id"),
        event_time="date",
        partition_by=("event_date",),
        bronze_table="ad_spend",
        table_columns=AD_SPEND_COLUMNS,
        constants=(("platform", platform),),
    )


AD_GOOGLE = _ad_contract(
    "google_ads", 1, "Google Ads campaign performance report (search and shopping).",
    "CSV, 2 preamble lines, cost in micros",
    (
        Field("date", "date", source="Day", required=True),
        Field("account_id", source="Customer ID", required=True),
        Field("campaign_id", source="Campaign ID", required=True),
        Field("campaign_name", source="Campaign"),
        Field("campaign_type", source="Campaign type"),
        Field("currency", source="Currency code", required=True, upper=True, accepted=CURRENCIES),
        _count("impressions", "Impressions"),
        _count("clicks", "Clicks"),
        _money("spend", "Cost (micros)", parse="micros"),
        Field("platform_conversions", "float", source="Conversions", min=0),
    ),
)  # fmt: skip
AD_META = _ad_contract(
    "meta", 1, "Meta ads insights export.", "CSV",
    (
        Field("date", "date", source="date_start", required=True),
        Field("account_id", required=True),
        Field("campaign_id", required=True),
        Field("campaign_name"),
        Field("currency", source="account_currency", required=True, upper=True, accepted=CURRENCIES),
        _count("impressions"),
        Field("reach", "int", min=0),
        _count("clicks", "inline_link_clicks"),
        _money("spend"),
    ),
)  # fmt: skip
AD_TIKTOK = _ad_contract(
    "tiktok", 1, "TikTok campaign daily report; a `conversion` column appears later (additive drift, kept in _extra).",
    "CSV",
    (
        Field("date", "date", source="stat_time_day", required=True),
        Field("account_id", source="advertiser_id", required=True),
        Field("campaign_id", required=True),
        Field("campaign_name"),
        Field("currency", required=True, upper=True, accepted=CURRENCIES),
        _money("spend"),
        _count("impressions"),
        _count("clicks"),
        Field("cpc", "decimal(18,4)", min=0, max=MAX_AMOUNT),
        Field("ctr", "float", parse="percent", min=0, max=1),
    ),
)  # fmt: skip
AD_MARKETPLACE = _ad_contract(
    "marketplace_ads", 1, "Marketplace sponsored-products report.", "CSV, semicolon, DD.MM.YYYY, decimal comma",
    (
        Field("date", "date", source="Date", required=True, parse="date_dmy"),
        Field("account_id", source="Advertiser Id", required=True),
        Field("campaign_id", source="Campaign Id", required=True),
        Field("campaign_name", source="Campaign Name"),
        _count("impressions", "Impressions"),
        _count("clicks", "Clicks"),
        _money("spend", "Spend", parse="decimal_comma"),
        Field("currency", source="Currency", required=True, upper=True, accepted=CURRENCIES),
    ),
)  # fmt: skip

MARKETING_COSTS = Contract(
    feed="marketing_costs",
    version=1,
    description="Non-ad channel costs: affiliate commissions per order and monthly tool fees.",
    format="CSV, daily",
    fields=(
        Field("date", "date", required=True),
        Field("cost_type", required=True, accepted=("affiliate_commission", "email_tool_fee")),
        Field("channel", required=True),
        Field("partner_id"),
        Field("order_id", pattern=ORDER_ID),
        _money("amount"),
        Field("currency", required=True, upper=True, accepted=CURRENCIES),
    ),
    primary_key=("date", "cost_type", "channel", "order_id"),
    event_time="date",
    partition_by=("event_date",),
)

INVENTORY = Contract(
    feed="inventory",
    version=1,
    description="Daily end-of-day stock per SKU and warehouse from the warehouse management system.",
    format="CSV per warehouse per day",
    fields=(
        Field("snapshot_ts", "timestamp", source="SNAPSHOT_TS", required=True),
        Field("warehouse", source="WAREHOUSE_CODE", required=True, accepted=WAREHOUSES),
        Field("sku", source="SKU", required=True, pattern=SKU),
        Field("seller_id", source="SELLER_ID", pattern=SELLER_ID),
        _count("qty_on_hand", "QTY_ON_HAND"),
        _count("qty_reserved", "QTY_RESERVED"),
        _count("qty_available", "QTY_AVAILABLE"),
        _count("qty_inbound", "QTY_INBOUND"),
        Field("inbound_eta", "date", source="INBOUND_ETA"),
    ),
    primary_key=("warehouse", "sku", "event_date"),
    event_time="snapshot_ts",
    partition_by=("event_date",),
)

SHIPMENTS = Contract(
    feed="shipments",
    version=1,
    description="Daily shipment manifests: shipments picked up that day, with freight cost in the carrier currency.",
    format="CSV, daily",
    fields=(
        Field("shipment_id", required=True, pattern=r"^SHP\d{10}$"),
        Field("tracking_number", required=True),
        Field("carrier", required=True),
        Field("service_level", accepted=("economy", "standard", "express")),
        Field("origin_warehouse", required=True, accepted=WAREHOUSES),
        Field("destination_country", required=True, upper=True, accepted=MARKETS),
        Field("weight_kg", "float", required=True, min=0, max=1000),
        _money("freight_cost"),
        Field("currency", required=True, upper=True, accepted=CURRENCIES),
        Field("ship_date", "date", required=True),
        Field("promised_delivery_date", "date", required=True),
        Field("order_ids", required=True, description="pipe-separated order ids"),
    ),
    primary_key=("shipment_id",),
    event_time="ship_date",
    partition_by=("event_date",),
)

TRACKING = Contract(
    feed="tracking",
    version=1,
    description="Carrier tracking events. Events whose tracking number is in no manifest yet are kept and "
    "flagged `_orphan` (the quality gate reports those still unmatched after the lateness window).",
    format="JSON array per carrier per half day",
    fields=(
        Field("tracking_number", required=True),
        Field("carrier", required=True),
        Field("event_code", required=True, accepted=TRACKING_EVENTS),
        Field("event_time", "timestamp", required=True),
        Field("city", source="location.city"),
        Field("country", source="location.country", upper=True),
        Field("description"),
    ),
    primary_key=("tracking_number", "event_code", "event_time"),
    event_time="event_time",
    partition_by=("event_date",),
    bronze_table="tracking_events",
)


def _snapshot(feed: str, description: str, fmt: str, fields: tuple[Field, ...], key: tuple[str, ...]) -> Contract:
    return Contract(
        feed=feed,
        version=1,
        description=description + " Full snapshots: take the latest `snapshot_date` on or before a date.",
        format=fmt,
        fields=fields,
        primary_key=("snapshot_date", *key),
        snapshot=True,
        tags=("reference",),
    )


SELLERS = _snapshot(
    "sellers", "Sellers.", "JSON array",
    (
        Field("seller_id", required=True, pattern=SELLER_ID),
        Field("seller_name", required=True),
        Field("country", required=True, upper=True),
        Field("home_currency", required=True, upper=True, accepted=CURRENCIES),
        Field("timezone", required=True),
        Field("language", required=True),
        Field("main_category"),
        Field("plan_tier", required=True, accepted=("free", "pro", "enterprise")),
        Field("report_email", required=True),
        Field("onboarded_on", "date", required=True),
        Field("origin_warehouse", accepted=WAREHOUSES),
        Field("status", required=True, accepted=("active", "dormant", "churned")),
        Field("status_since", "date"),
    ),
    ("seller_id",),
)  # fmt: skip
PRODUCTS = _snapshot(
    "products", "Products (SKUs).", "CSV",
    (
        Field("sku", required=True, pattern=SKU),
        Field("seller_id", required=True, pattern=SELLER_ID),
        Field("category", required=True),
        Field("title"),
        Field("list_price_usd", "decimal(18,4)", required=True, min=0),
        Field("unit_cost_usd", "decimal(18,4)", min=0),
        Field("weight_kg", "float", min=0),
        Field("size_class"),
        Field("overseas_stock"),
    ),
    ("sku",),
)  # fmt: skip
CAMPAIGNS = _snapshot(
    "campaigns", "Ad campaigns of seller and platform ad accounts.", "CSV",
    (
        Field("campaign_id", required=True),
        Field("campaign_name"),
        Field("platform", required=True),
        Field("channel", required=True),
        Field("account_id"),
        Field("account_type", accepted=("seller", "platform")),
        Field("seller_id"),
        Field("account_currency", upper=True, accepted=CURRENCIES),
        Field("target_market", upper=True),
        Field("daily_budget", "decimal(18,4)", min=0),
        Field("start_date", "date"),
        Field("end_date", "date"),
    ),
    ("platform", "campaign_id"),
)  # fmt: skip
MARKETS_REF = _snapshot(
    "markets", "Markets: currency, language, time zone, VAT and serving warehouse.", "JSON array",
    (
        Field("market", required=True, upper=True),
        Field("currency", required=True, upper=True, accepted=CURRENCIES),
        Field("language"),
        Field("timezone", required=True),
        Field("vat_rate", "float", min=0, max=1),
        Field("payment_methods", "json"),
        Field("serving_warehouse"),
    ),
    ("market",),
)  # fmt: skip
HOLIDAYS = _snapshot(
    "holidays", "Holiday and sales-event calendar per market.", "CSV",
    (
        Field("date", "date", required=True),
        Field("market", required=True, upper=True),
        Field("holiday", required=True),
        Field("kind"),
        Field("demand_multiplier", "float", min=0),
    ),
    ("date", "market", "holiday"),
)  # fmt: skip
FX_RATES = Contract(
    feed="fx_rates",
    version=1,
    description="Daily reference rates (ECB SDMX style): units of `currency` per 1 EUR.",
    format="CSV, daily",
    fields=(
        Field("key", source="KEY"),
        Field("currency", source="CURRENCY", required=True, upper=True, accepted=CURRENCIES),
        Field("currency_denom", source="CURRENCY_DENOM", required=True, accepted=("EUR",)),
        Field("rate_date", "date", source="TIME_PERIOD", required=True),
        Field("rate", "float", source="OBS_VALUE", required=True, min=0),
    ),
    primary_key=("rate_date", "currency"),
    event_time="rate_date",
    partition_by=(),
)


def tracking_orphans(accepted: pl.DataFrame, settings: Settings) -> pl.Series:
    """True for events whose tracking number is in no manifest ingested so far (flag only)."""
    shipments = settings.paths.table("bronze", "shipments")
    known: set[str] = set()
    if delta.table_exists(shipments):
        known = set(delta.read_arrow(shipments, columns=["tracking_number"])["tracking_number"].to_pylist())
    return ~accepted["tracking_number"].is_in(list(known))


def _feed(contract: Contract, pattern: str, reader, **kw) -> Feed:
    return Feed(contract.feed, contract, pattern, reader, **kw)


FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        _feed(ORDERS, "orders/dt=*/hour=*/*.jsonl.gz", read_json_lines, batch_reader=read_json_lines_batch),
        _feed(
            CLICKS,
            "clicks/dt=*/hour=*/*.ndjson.gz",
            read_json_lines,
            batch_files=240,
            batch_reader=read_json_lines_batch,
        ),
        _feed(AD_GOOGLE, "ad_spend/platform=google_ads/dt=*/*.csv", partial(csv, skip_lines=2)),
        _feed(AD_META, "ad_spend/platform=meta/dt=*/*.csv", csv),
        _feed(AD_TIKTOK, "ad_spend/platform=tiktok/dt=*/*.csv", csv),
        _feed(AD_MARKETPLACE, "ad_spend/platform=marketplace_ads/dt=*/*.csv", partial(csv, delimiter=";")),
        _feed(MARKETING_COSTS, "marketing_costs/dt=*/*.csv", csv),
        _feed(INVENTORY, "inventory/dt=*/*.csv", csv),
        _feed(SHIPMENTS, "logistics/manifests/dt=*/*.csv", csv),
        _feed(TRACKING, "logistics/tracking/carrier=*/dt=*/*.json", read_json_array, orphan_check=tracking_orphans),
        _feed(SELLERS, "reference/sellers/dt=*/*.json", read_json_array),
        _feed(PRODUCTS, "reference/products/dt=*/*.csv", csv),
        _feed(CAMPAIGNS, "reference/campaigns/dt=*/*.csv", csv),
        _feed(MARKETS_REF, "reference/markets/dt=*/*.json", read_json_array),
        _feed(HOLIDAYS, "reference/holidays/dt=*/*.csv", csv),
        _feed(FX_RATES, "reference/fx_rates/dt=*/*.csv", csv),
    )
}
