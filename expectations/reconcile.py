"""Silver and marts checks: totals that must agree between layers, per day of the rebuilt window, and KPI
values that must be in range.

dbt already tests keys, relationships, per-order money identities and whole-history totals inside the
warehouse (``dbt_project/tests``); these checks compare layers day by day over the run's window — bronze vs
silver vs facts vs KPI marts — in the measures readers see (orders, units, GMV, spend, clicks, impressions).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from expectations.bronze import _q, existing_tables
from expectations.checks import CheckConfig, CheckInputs, metric_frame, register

BRONZE_ORDERS_DAILY = """
    with latest as (
        select order_id, created_at, items, subtotal, discount_total from bronze.orders
        where event_date >= {first} and created_at >= {first}::timestamp
        qualify row_number() over (partition by order_id order by version desc, _ingested_at desc) = 1
    )
    select created_at::date as day, count(*)::double as orders,
        sum(list_sum(list_transform(from_json(items, '[{{"qty": "VARCHAR"}}]'), x -> try_cast(x.qty as bigint))))
            ::double as units,
        sum(subtotal - discount_total)::double as item_value
    from latest where created_at::date between {first} and {last} group by all
"""
SILVER_ORDERS_DAILY = """
    select order_date as day, count(distinct order_id)::double as orders, sum(quantity)::double as units,
        sum(line_value_original)::double as item_value
    from silver.order_lines where order_date between {first} and {last} group by all
"""
FCT_ORDERS_DAILY = """
    select order_date as day, count(*)::double as orders, sum(units)::double as units,
        sum(item_value_original)::double as item_value
    from fct_orders where order_date between {first} and {last} group by all
"""
FCT_ORDERS_REPORTING = """
    select order_date_reporting as day,
        count(*) filter (where not is_cancelled)::double as orders,
        coalesce(sum(units) filter (where not is_cancelled), 0)::double as units,
        coalesce(sum(item_value_reporting) filter (where not is_cancelled), 0)::double as gmv
    from fct_orders where order_date_reporting between {first} and {last} group by all
"""
KPI_ORDERS_REPORTING = """
    select date_reporting as day, sum(orders)::double as orders, sum(units)::double as units,
        sum(gmv_reporting)::double as gmv
    from kpi_daily where date_reporting between {first} and {last} group by all
"""
BRONZE_SPEND_DAILY = """
    select event_date as day, sum(spend)::double as spend, sum(clicks)::double as clicks,
        sum(impressions)::double as impressions
    from bronze.ad_spend where event_date between {first} and {last} group by all
"""
SILVER_SPEND_DAILY = """
    select date as day, sum(spend_original)::double as spend, sum(clicks)::double as clicks,
        sum(impressions)::double as impressions
    from silver.ad_spend_daily where cost_type = 'ad_spend' and date between {first} and {last} group by all
"""
FCT_SPEND_DAILY = """
    select date as day, sum(spend_original)::double as spend, sum(clicks)::double as clicks,
        sum(impressions)::double as impressions
    from fct_ad_spend_daily where cost_type = 'ad_spend' and date between {first} and {last} group by all
"""
FCT_SPEND_REPORTING = """
    select date_reporting as day, sum(spend_reporting)::double as ad_spend,
        coalesce(sum(clicks), 0)::double as clicks, coalesce(sum(impressions), 0)::double as impressions
    from fct_ad_spend_daily where date_reporting between {first} and {last} group by all
"""
CHANNEL_SPEND_REPORTING = """
    select date_reporting as day, sum(ad_spend_reporting)::double as ad_spend, sum(clicks)::double as clicks,
        sum(impressions)::double as impressions
    from channel_daily where date_reporting between {first} and {last} group by all
"""
KPI_SPEND_REPORTING = """
    select date_reporting as day, sum(ad_spend_reporting)::double as ad_spend
    from kpi_daily where date_reporting between {first} and {last} group by all
"""


def daily_totals(con, sql: str, first: date, last: date) -> pd.DataFrame:
    """Run one of the ``*_DAILY`` / ``*_REPORTING`` queries: ``day`` plus one column per measure."""
    con.execute("set timezone = 'UTC'")
    frame = con.execute(sql.format(first=_q(first), last=_q(last))).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def reconcile_metrics(
    expected: pd.DataFrame, actual: pd.DataFrame, table: str, check: str, names: tuple[str, str]
) -> pd.DataFrame:
    """Per day and measure: |actual - expected| / max(|expected|, 1). A day on one side only compares with 0."""
    measures = [c for c in expected.columns if c != "day" and c in actual.columns]
    merged = expected.merge(actual, on="day", how="outer", suffixes=("_expected", "_actual")).fillna(0.0)
    rows = []
    for _, row in merged.sort_values("day").iterrows():
        for measure in measures:
            want, got = float(row[f"{measure}_expected"]), float(row[f"{measure}_actual"])
            rows.append(
                {
                    "table_name": table,
                    "key": f"{row['day'].isoformat()} {measure}",
                    "value": abs(got - want) / max(abs(want), 1.0),
                    "note": f"{names[0]} {want:,.2f} vs {names[1]} {got:,.2f}",
                }
            )
    return metric_frame(rows, check)


def _pairs(inputs: CheckInputs, check: str, pairs: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """``pairs``: (table key, expected sql, actual sql, expected name, actual name); tables not configured or
    whose sources are missing are skipped."""
    first, last = inputs.window.recent_days()
    frames = []
    for table, want_sql, got_sql, want_name, got_name in pairs:
        if table not in inputs.config.tables:
            continue
        want = daily_totals(inputs.con, want_sql, first, last)
        got = daily_totals(inputs.con, got_sql, first, last)
        frames.append(reconcile_metrics(want, got, table, check, (want_name, got_name)))
    return metric_frame(pd.concat(frames) if frames else [], check)


def _has(con, *names: str) -> bool:
    """Every ``schema.table`` (or unqualified mart) exists."""
    for name in names:
        schema, _, table = name.rpartition(".")
        if schema and table not in existing_tables(con, schema):
            return False
        if not schema:
            found = con.execute(
                "select count(*) from duckdb_tables() where table_name = ? and schema_name = 'main'", [table]
            ).fetchone()[0]
            found += con.execute(
                "select count(*) from duckdb_views() where view_name = ? and schema_name = 'main'", [table]
            ).fetchone()[0]
            if not found:
                return False
    return True


@register("silver", "orders_reconcile")
def silver_orders_reconcile(inputs: CheckInputs) -> pd.DataFrame:
    """Orders, units and item value per order date: latest bronze versions vs silver order_lines."""
    if not _has(inputs.con, "bronze.orders", "silver.order_lines"):
        return _missing(inputs, "orders_reconcile", "bronze.orders / silver.order_lines")
    pairs = [("silver.order_lines", BRONZE_ORDERS_DAILY, SILVER_ORDERS_DAILY, "bronze", "silver")]
    return _pairs(inputs, "orders_reconcile", pairs)


@register("silver", "spend_reconcile")
def silver_spend_reconcile(inputs: CheckInputs) -> pd.DataFrame:
    """Ad spend (original currency), clicks, impressions per day: bronze ad_spend vs silver ad_spend_daily."""
    if not _has(inputs.con, "bronze.ad_spend", "silver.ad_spend_daily"):
        return _missing(inputs, "spend_reconcile", "bronze.ad_spend / silver.ad_spend_daily")
    pairs = [("silver.ad_spend_daily", BRONZE_SPEND_DAILY, SILVER_SPEND_DAILY, "bronze", "silver")]
    return _pairs(inputs, "spend_reconcile", pairs)


@register("marts", "orders_reconcile")
def marts_orders_reconcile(inputs: CheckInputs) -> pd.DataFrame:
    """Silver order_lines vs fct_orders per order date; fct_orders vs kpi_daily per reporting date."""
    if not _has(inputs.con, "silver.order_lines", "fct_orders", "kpi_daily"):
        return _missing(inputs, "orders_reconcile", "silver.order_lines / fct_orders / kpi_daily")
    pairs = [
        ("fct_orders", SILVER_ORDERS_DAILY, FCT_ORDERS_DAILY, "silver", "fct_orders"),
        ("kpi_daily", FCT_ORDERS_REPORTING, KPI_ORDERS_REPORTING, "fct_orders", "kpi_daily"),
    ]
    return _pairs(inputs, "orders_reconcile", pairs)


@register("marts", "spend_reconcile")
def marts_spend_reconcile(inputs: CheckInputs) -> pd.DataFrame:
    """Bronze ad_spend vs fct_ad_spend_daily per day; fct_ad_spend_daily vs channel_daily and kpi_daily."""
    if not _has(inputs.con, "bronze.ad_spend", "fct_ad_spend_daily", "channel_daily", "kpi_daily"):
        return _missing(inputs, "spend_reconcile", "bronze.ad_spend / fct_ad_spend_daily / channel_daily / kpi_daily")
    pairs = [
        ("fct_ad_spend_daily", BRONZE_SPEND_DAILY, FCT_SPEND_DAILY, "bronze", "fct_ad_spend_daily"),
        ("channel_daily", FCT_SPEND_REPORTING, CHANNEL_SPEND_REPORTING, "fct_ad_spend_daily", "channel_daily"),
        ("kpi_daily", FCT_SPEND_REPORTING, KPI_SPEND_REPORTING, "fct_ad_spend_daily", "kpi_daily"),
    ]
    return _pairs(inputs, "spend_reconcile", pairs)


# mart -> (date column, key columns) of the KPI rows checked by kpi_ranges
KPI_MARTS = {
    "kpi_daily": ("date_reporting", ("market_code", "channel")),
    "channel_daily": ("date_reporting", ("channel",)),
    "logistics_lane_daily": ("date_day", ("lane", "carrier")),
}


def load_kpi_values(con, mart: str, column: str, first: date, last: date) -> pd.DataFrame:
    """Non-null values of a KPI column on the mart rows of the window: ``key, value``."""
    date_column, keys = KPI_MARTS[mart]
    key_sql = " || ' ' || ".join([f"{date_column}::varchar", *[f"coalesce({k}::varchar, '-')" for k in keys]])
    return con.execute(
        f"select {key_sql} as key, {column}::double as value from {mart} "
        f"where {date_column} between {_q(first)} and {_q(last)} and {column} is not null"
    ).df()


@register("marts")
def kpi_ranges(inputs: CheckInputs) -> pd.DataFrame:
    """Rates in [0, 1], ROAS and GMV non-negative on the KPI mart rows of the window."""
    first, last = inputs.window.recent_days()
    frames = []
    for table in inputs.config.tables:
        mart, _, column = table.partition(".")
        if mart not in KPI_MARTS:
            raise ValueError(f"thresholds: kpi_ranges table {table!r}: expected <mart>.<column> of {list(KPI_MARTS)}")
        if not _has(inputs.con, mart):
            frames.append(_missing(inputs, "kpi_ranges", mart, table))
            continue
        values = load_kpi_values(inputs.con, mart, column, first, last)
        values["table_name"] = table
        values["note"] = column + " " + values["value"].map(lambda v: f"{v:g}")
        frames.append(metric_frame(values, "kpi_ranges"))
    return metric_frame(pd.concat(frames) if frames else [], "kpi_ranges")


def load_market_aov(con, first: date, last: date) -> pd.DataFrame:
    """GMV and orders per market over the window (kpi_daily): ``market, orders, gmv``."""
    return con.execute(
        "select market_code as market, sum(orders)::double as orders, sum(gmv_reporting)::double as gmv "
        f"from kpi_daily where date_reporting between {_q(first)} and {_q(last)} and market_code is not null "
        "group by all order by market"
    ).df()


def aov_metrics(aov: pd.DataFrame, config: CheckConfig, span: str) -> pd.DataFrame:
    """AOV per market; a market with its own entry ``kpi_daily[<market>]`` is reported under it. Markets with
    fewer than ``min_orders`` orders in the window are left out."""
    rows = []
    for r in aov.itertuples():
        table = f"kpi_daily[{r.market}]" if f"kpi_daily[{r.market}]" in config.tables else "kpi_daily"
        if table not in config.tables or r.orders < float(config.table(table).get("min_orders", 20)):
            continue
        rows.append(
            {
                "table_name": table,
                "key": f"{span} {r.market}",
                "value": r.gmv / r.orders,
                "note": f"GMV {r.gmv:,.2f} / {int(r.orders)} orders",
            }
        )
    return metric_frame(rows, "aov_by_market")


@register("marts")
def aov_by_market(inputs: CheckInputs) -> pd.DataFrame:
    """AOV per market over the window within a plausible band (reporting currency)."""
    if not _has(inputs.con, "kpi_daily"):
        return _missing(inputs, "aov_by_market", "kpi_daily")
    first, last = inputs.window.recent_days()
    span = f"{first.isoformat()}..{last.isoformat()}"
    return aov_metrics(load_market_aov(inputs.con, first, last), inputs.config, span)


def _missing(inputs: CheckInputs, check: str, what: str, table: str | None = None) -> pd.DataFrame:
    """A source table is missing: one null metric per configured table, which fails ``metric_defined``."""
    tables = [table] if table else inputs.config.tables
    rows = [{"table_name": t, "key": "missing", "value": None, "note": f"missing: {what}"} for t in tables]
    return metric_frame(rows, check)
