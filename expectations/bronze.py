"""Bronze checks: per feed and run — volume, freshness, distribution shifts, quarantine rate and schema drift
from the ingest ledger — and cross-feed consistency (ad clicks vs sessions, purchases vs orders, shipped orders
vs manifests, orphan tracking events).

Each check is ``load_*`` (one DuckDB query over the checked days' partitions, returning a small aggregate
frame) plus ``*_metrics`` (a pure function from that frame to metric rows), so tests feed the pure part
mutated frames and the SQL part mutated tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from expectations.checks import CheckConfig, CheckInputs, date_range, metric_frame, register

# table key -> (bronze table, event-time column, event time is a date)
EVENT_TIME = {
    "orders": ("updated_at", False),
    "clicks": ("event_ts", False),
    "ad_spend": ("date", True),
    "marketing_costs": ("date", True),
    "inventory": ("snapshot_ts", False),
    "shipments": ("ship_date", True),
    "tracking_events": ("event_time", False),
    "fx_rates": ("rate_date", True),
}
# ingest ledger feed -> table key used in results
LEDGER_FEEDS = {
    "orders": "bronze.orders",
    "clicks": "bronze.clicks",
    "ad_spend_google_ads": "bronze.ad_spend[google_ads]",
    "ad_spend_meta": "bronze.ad_spend[meta]",
    "ad_spend_tiktok": "bronze.ad_spend[tiktok]",
    "ad_spend_marketplace_ads": "bronze.ad_spend[marketplace_ads]",
    "marketing_costs": "bronze.marketing_costs",
    "inventory": "bronze.inventory",
    "shipments": "bronze.shipments",
    "tracking": "bronze.tracking_events",
    "fx_rates": "bronze.fx_rates",
}
_KEY = re.compile(r"^bronze\.(?P<table>\w+)(?:\[(?P<platform>\w+)\])?$")
SAMPLE_SIZE = 5


def parse_table_key(key: str) -> tuple[str, str | None]:
    """``bronze.ad_spend[meta]`` -> ``("ad_spend", "meta")``."""
    match = _KEY.match(key)
    if not match or match["table"] not in EVENT_TIME:
        raise ValueError(f"thresholds: unknown bronze table key {key!r}")
    return match["table"], match["platform"]


def existing_tables(con, schema: str = "bronze") -> set[str]:
    rows = con.execute(
        "select view_name from duckdb_views() where schema_name = ? "
        "union all select table_name from duckdb_tables() where schema_name = ?",
        [schema, schema],
    ).fetchall()
    return {r[0] for r in rows}


def _q(value: date | datetime) -> str:
    return f"'{value.isoformat()}'"


def _sample(values: Iterable) -> str:
    items = [str(v) for v in values if v is not None and str(v) != ""]
    return ", ".join(items[:SAMPLE_SIZE])


def _days_by_table(inputs: CheckInputs, cfg: CheckConfig) -> dict[str, list[date]]:
    return {t: inputs.window.complete_days(cfg.table(t).get("settle_hours", 1)) for t in cfg.tables}


def _span(days_by_table: dict[str, list[date]], back: int = 0) -> tuple[date, date] | None:
    days = [d for ds in days_by_table.values() for d in ds]
    if not days:
        return None
    return min(days) - timedelta(days=back), max(days)


# --- volume ---------------------------------------------------------------------------------------------


def load_daily_counts(con, tables: Iterable[str], first: date, last: date) -> pd.DataFrame:
    """Rows per event day for each table key: ``table_name, day, rows``."""
    have = existing_tables(con)
    parts = []
    for key in tables:
        table, platform = parse_table_key(key)
        if table not in have:
            continue
        where = f"event_date between {_q(first)} and {_q(last)}"
        if platform:
            where += f" and platform = '{platform}'"
        parts.append(
            f"select '{key}' as table_name, event_date as day, count(*) as rows "
            f"from bronze.{table} where {where} group by event_date"
        )
    if not parts:
        return pd.DataFrame({"table_name": [], "day": [], "rows": []})
    frame = con.execute(" union all ".join(parts)).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def volume_metrics(counts: pd.DataFrame, days_by_table: dict[str, list[date]], cfg: CheckConfig) -> pd.DataFrame:
    """Rows of each checked day / median rows of the ``trailing_days`` before it (days without rows count as
    0 once the table has started). Skipped while the history is shorter than ``min_history_days`` or the
    median below ``min_baseline``."""
    trailing = int(cfg.get("trailing_days", 7))
    rows = []
    for table, days in days_by_table.items():
        tcfg = cfg.table(table)
        series = counts[counts["table_name"] == table].groupby("day")["rows"].sum().to_dict()
        started = min(series) if series else None
        for day in days:
            history = [
                series.get(d, 0)
                for d in date_range(day - timedelta(days=trailing), day - timedelta(days=1))
                if started is not None and d >= started
            ]
            if len(history) < int(tcfg.get("min_history_days", 3)):
                continue
            baseline = float(pd.Series(history).median())
            if baseline < float(tcfg.get("min_baseline", 1)):
                continue
            n = int(series.get(day, 0))
            rows.append(
                {
                    "table_name": table,
                    "key": day.isoformat(),
                    "value": n / baseline,
                    "note": f"{n} rows vs trailing {trailing}-day median {baseline:g}",
                }
            )
    return metric_frame(rows, "volume")


@register("bronze")
def volume(inputs: CheckInputs) -> pd.DataFrame:
    """Rows per event day vs the trailing 7-day median (a day whose volume drops, a feed that stops)."""
    cfg = inputs.config
    days = _days_by_table(inputs, cfg)
    span = _span(days, back=int(cfg.get("trailing_days", 7)))
    if span is None:
        return metric_frame([], "volume")
    return volume_metrics(load_daily_counts(inputs.con, cfg.tables, *span), days, cfg)


# --- freshness ------------------------------------------------------------------------------------------


def load_latest_events(
    con, tables: Iterable[str], now: datetime, search_days: int = 35, ledger_feeds: dict[str, str] | None = None
) -> pd.DataFrame:
    """Latest event time (UTC) per table key, not after ``now``; a date-typed event time counts as the end
    of that day. ``table_name, latest`` (null when no rows in the last ``search_days``). Tables mapped in
    ``ledger_feeds`` use the latest ingested landing file's partition date (end of that day) instead."""
    have = existing_tables(con)
    first = now.date() - timedelta(days=search_days)
    ledger_feeds = ledger_feeds or {}
    parts = []
    for key in tables:
        table, platform = parse_table_key(key)
        column, is_date = EVENT_TIME[table]
        if key in ledger_feeds:
            if "ingest_files" not in existing_tables(con, "_ledger"):
                parts.append(f"select '{key}' as table_name, null::timestamp as latest")
                continue
            parts.append(
                f"select '{key}' as table_name, max(day)::timestamp + interval 1 day as latest from ("
                "select try_cast(regexp_extract(file_path, 'dt=(\\d{4}-\\d{2}-\\d{2})', 1) as date) as day "
                f"from _ledger.ingest_files where feed = '{ledger_feeds[key]}' and status = 'ingested') "
                f"where day between {_q(first)} and {_q(now.date())}"
            )
            continue
        if table not in have:
            parts.append(f"select '{key}' as table_name, null::timestamp as latest")
            continue
        expr = f"(max({column})::timestamp + interval 1 day)" if is_date else f"max({column})::timestamp"
        where = f"event_date >= {_q(first)} and {column} <= {_q(now.replace(tzinfo=None))}::timestamp"
        if platform:
            where += f" and platform = '{platform}'"
        parts.append(f"select '{key}' as table_name, {expr} as latest from bronze.{table} where {where}")
    if not parts:
        return pd.DataFrame({"table_name": [], "latest": []})
    con.execute("set timezone = 'UTC'")
    return con.execute(" union all ".join(parts)).df()


def freshness_metrics(latest: pd.DataFrame, now: datetime, cfg: CheckConfig, search_days: int = 35) -> pd.DataFrame:
    """Hours from the latest event to the as-of time; a table with no recent rows gets ``search_days`` x 24."""
    rows = []
    found = dict(zip(latest["table_name"], latest["latest"], strict=True))
    naive_now = now.replace(tzinfo=None)
    for table in cfg.tables:
        ts = found.get(table)
        if ts is None or pd.isna(ts):
            rows.append({"table_name": table, "key": "latest", "value": 24.0 * search_days, "note": "no rows recently"})
            continue
        ts = pd.Timestamp(ts).tz_localize(None) if pd.Timestamp(ts).tzinfo else pd.Timestamp(ts)
        hours = (naive_now - ts.to_pydatetime()).total_seconds() / 3600
        rows.append({"table_name": table, "key": "latest", "value": hours, "note": f"latest event {ts:%Y-%m-%d %H:%M}"})
    return metric_frame(rows, "freshness")


@register("bronze")
def freshness(inputs: CheckInputs) -> pd.DataFrame:
    """Hours since the latest event time vs the as-of time (a feed that stops arriving)."""
    cfg = inputs.config
    search = int(cfg.get("search_days", 35))
    ledger_feeds = {t: cfg.table(t)["ledger_feed"] for t in cfg.tables if cfg.table(t).get("ledger_feed")}
    latest = load_latest_events(inputs.con, cfg.tables, inputs.window.now, search, ledger_feeds)
    return freshness_metrics(latest, inputs.window.now, cfg, search)


# --- distribution shifts --------------------------------------------------------------------------------

SHARE_SQL = {
    "currency": "select event_date as day, currency as category, count(*) as n from bronze.orders "
    "where version = 1 and event_date between {first} and {last} group by all",
    "market": "select event_date as day, marketplace as category, count(*) as n from bronze.orders "
    "where version = 1 and event_date between {first} and {last} group by all",
    # sessions by the traffic medium of their tagged first event; untagged sessions are 'none'
    "channel": """
        with daily as (
            select event_date as day, count(distinct session_id) as sessions from bronze.clicks
            where event_date between {first} and {last} group by all
        ),
        tagged as (
            select event_date as day, utm_medium as category, count(distinct session_id) as n from bronze.clicks
            where event_date between {first} and {last} and utm_medium is not null group by all
        )
        select day, category, n from tagged
        union all
        select daily.day, 'none', daily.sessions - coalesce(sum(tagged.n), 0)
        from daily left join tagged using (day) group by daily.day, daily.sessions
    """,
}
SHARE_TABLES = {"currency": "orders", "market": "orders", "channel": "clicks"}


def load_category_counts(con, dimension: str, first: date, last: date) -> pd.DataFrame:
    """``day, category, n`` for a share dimension (currency / market of new orders, medium of sessions)."""
    if SHARE_TABLES[dimension] not in existing_tables(con):
        return pd.DataFrame({"day": [], "category": [], "n": []})
    frame = con.execute(SHARE_SQL[dimension].format(first=_q(first), last=_q(last))).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["category"] = frame["category"].fillna("(null)")
    return frame


def share_shift_metrics(
    counts: pd.DataFrame, days: list[date], table: str, check: str, cfg: CheckConfig
) -> pd.DataFrame:
    """Per checked day and category: |share that day - share over the trailing days| (categories that
    appear or vanish included). Days with fewer than ``min_rows`` rows are skipped."""
    tcfg = cfg.table(table)
    trailing = int(cfg.get("trailing_days", 7))
    rows = []
    for day in days:
        today = counts[counts["day"] == day].groupby("category")["n"].sum()
        past = counts[(counts["day"] >= day - timedelta(days=trailing)) & (counts["day"] < day)]
        past = past.groupby("category")["n"].sum()
        if today.sum() < tcfg.get("min_rows", 100) or past.sum() < tcfg.get("min_rows", 100):
            continue
        share_today, share_past = today / today.sum(), past / past.sum()
        for category in sorted(set(share_today.index) | set(share_past.index)):
            now_share, past_share = float(share_today.get(category, 0.0)), float(share_past.get(category, 0.0))
            rows.append(
                {
                    "table_name": table,
                    "key": f"{day.isoformat()} {category}",
                    "value": abs(now_share - past_share),
                    "note": f"share {now_share:.1%} vs {past_share:.1%} over the {trailing} days before",
                }
            )
    return metric_frame(rows, check)


def _share_check(inputs: CheckInputs, dimension: str) -> pd.DataFrame:
    cfg = inputs.config
    check = f"{dimension}_share_shift"
    frames = []
    trailing = int(cfg.get("trailing_days", 7))
    for table in cfg.tables:
        days = inputs.window.complete_days(cfg.table(table).get("settle_hours", 1))
        if not days:
            continue
        counts = load_category_counts(inputs.con, dimension, days[0] - timedelta(days=trailing), days[-1])
        frames.append(share_shift_metrics(counts, days, table, check, cfg))
    return metric_frame(pd.concat(frames) if frames else [], check)


@register("bronze")
def currency_share_shift(inputs: CheckInputs) -> pd.DataFrame:
    """Share of new orders per currency on the day vs the trailing days."""
    return _share_check(inputs, "currency")


@register("bronze")
def market_share_shift(inputs: CheckInputs) -> pd.DataFrame:
    """Share of new orders per market on the day vs the trailing days."""
    return _share_check(inputs, "market")


@register("bronze")
def channel_share_shift(inputs: CheckInputs) -> pd.DataFrame:
    """Share of sessions per traffic medium (utm_medium of the tagged first event; none) vs the trailing days."""
    return _share_check(inputs, "channel")


# --- mean order value per market ------------------------------------------------------------------------


def load_order_values(con, first: date, last: date) -> pd.DataFrame:
    """New orders (version 1) per day and market: ``day, market, orders, total`` (order currency)."""
    if "orders" not in existing_tables(con):
        return pd.DataFrame({"day": [], "market": [], "orders": [], "total": []})
    frame = con.execute(
        "select event_date as day, marketplace as market, count(*) as orders, sum(total)::double as total "
        f"from bronze.orders where version = 1 and event_date between {_q(first)} and {_q(last)} group by all"
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def order_value_metrics(values: pd.DataFrame, days: list[date], table: str, cfg: CheckConfig) -> pd.DataFrame:
    """Mean order value per market on the day / the same market's mean over the trailing days (order
    currency: a unit or currency mix-up moves it by a large factor). Markets with fewer than
    ``min_orders`` orders that day are skipped."""
    tcfg = cfg.table(table)
    trailing = int(cfg.get("trailing_days", 7))
    rows = []
    for day in days:
        today = values[values["day"] == day].groupby("market")[["orders", "total"]].sum()
        past = values[(values["day"] >= day - timedelta(days=trailing)) & (values["day"] < day)]
        past = past.groupby("market")[["orders", "total"]].sum()
        for market, row in today.iterrows():
            if row["orders"] < tcfg.get("min_orders", 20) or market not in past.index:
                continue
            before = past.loc[market]
            if before["orders"] < tcfg.get("min_orders", 20) or before["total"] <= 0:
                continue
            mean_today, mean_past = row["total"] / row["orders"], before["total"] / before["orders"]
            rows.append(
                {
                    "table_name": table,
                    "key": f"{day.isoformat()} {market}",
                    "value": mean_today / mean_past,
                    "note": f"mean {mean_today:,.2f} over {int(row['orders'])} orders vs {mean_past:,.2f}",
                }
            )
    return metric_frame(rows, "order_value_shift")


@register("bronze")
def order_value_shift(inputs: CheckInputs) -> pd.DataFrame:
    """Mean order value per market (order currency) on the day vs the trailing days."""
    cfg = inputs.config
    trailing = int(cfg.get("trailing_days", 7))
    frames = []
    for table in cfg.tables:
        days = inputs.window.complete_days(cfg.table(table).get("settle_hours", 1))
        if days:
            values = load_order_values(inputs.con, days[0] - timedelta(days=trailing), days[-1])
            frames.append(order_value_metrics(values, days, table, cfg))
    return metric_frame(pd.concat(frames) if frames else [], "order_value_shift")


# --- ingest ledger: quarantine rate, breaking drift, failed files ---------------------------------------


def load_ledger(con, first: date, last: date) -> pd.DataFrame:
    """Ledger rows of landing files whose partition date (``dt=``) is in the range, latest row per path:
    ``feed, day, file_path, status, rows_read, quarantined, duplicates, breaking``."""
    if "ingest_files" not in existing_tables(con, "_ledger"):
        return pd.DataFrame(
            columns=["feed", "day", "file_path", "status", "rows_read", "quarantined", "duplicates", "breaking"]
        )
    frame = con.execute(
        f"""
        with files as (
            select *, try_cast(regexp_extract(file_path, 'dt=(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) as date) as day
            from _ledger.ingest_files
        )
        select feed, day, file_path, status, coalesce(rows_read, 0) as rows_read,
            coalesce(quarantined, 0) as quarantined, coalesce(duplicates, 0) as duplicates,
            coalesce(drift, '') like 'breaking%' as breaking
        from files
        where day between {_q(first)} and {_q(last)}
        qualify row_number() over (partition by file_path order by finished_at desc nulls last) = 1
        """
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def _ledger_window(inputs: CheckInputs, cfg: CheckConfig) -> tuple[date, date] | None:
    days = inputs.window.complete_days(cfg.get("settle_hours", 7))
    if not days:
        return None
    return days[0] - timedelta(days=int(cfg.get("pool_days", 7)) - 1), days[-1]


def quarantine_metrics(ledger: pd.DataFrame, cfg: CheckConfig, span: str) -> pd.DataFrame:
    """Records quarantined / records read per feed over the pooled days, files with breaking drift left out
    (the ``schema_drift`` check reports those). Feeds with fewer than ``min_rows`` rows are skipped."""
    rows = []
    for feed, table in LEDGER_FEEDS.items():
        if table not in cfg.tables:
            continue
        files = ledger[(ledger["feed"] == feed) & (ledger["status"] == "ingested") & ~ledger["breaking"]]
        read, quarantined = int(files["rows_read"].sum()), int(files["quarantined"].sum())
        if read < cfg.table(table).get("min_rows", 50):
            continue
        worst = files[files["quarantined"] > 0].sort_values("quarantined", ascending=False)["file_path"]
        rows.append(
            {
                "table_name": table,
                "key": span,
                "value": quarantined / read,
                "note": f"{quarantined} of {read} records quarantined",
                "sample": _sample(worst),
            }
        )
    return metric_frame(rows, "quarantine_rate")


def drift_metrics(ledger: pd.DataFrame, cfg: CheckConfig, span: str) -> pd.DataFrame:
    """Share of a feed's records read from files with breaking schema drift (all quarantined until the
    contract is fixed and the quarantine replayed)."""
    rows = []
    for feed, table in LEDGER_FEEDS.items():
        if table not in cfg.tables:
            continue
        files = ledger[(ledger["feed"] == feed) & (ledger["status"] == "ingested")]
        read = int(files["rows_read"].sum())
        drifted = files[files["breaking"]]
        drifted_rows = int(drifted["rows_read"].sum())
        share = drifted_rows / read if read else 0.0
        rows.append(
            {
                "table_name": table,
                "key": span,
                "value": share,
                "note": f"{len(drifted)} file(s) with breaking drift: {drifted_rows} of {read} records",
                "sample": _sample(drifted["file_path"]),
            }
        )
    return metric_frame(rows, "schema_drift")


def failed_file_metrics(ledger: pd.DataFrame, cfg: CheckConfig, span: str) -> pd.DataFrame:
    """Landing files whose latest ledger row is ``failed`` (unreadable: their records are nowhere)."""
    rows = []
    for feed, table in LEDGER_FEEDS.items():
        if table not in cfg.tables:
            continue
        failed = ledger[(ledger["feed"] == feed) & (ledger["status"] == "failed")]
        rows.append(
            {
                "table_name": table,
                "key": span,
                "value": float(len(failed)),
                "note": f"{len(failed)} failed file(s)",
                "sample": _sample(failed["file_path"]),
            }
        )
    return metric_frame(rows, "failed_files")


def _ledger_check(inputs: CheckInputs, fn) -> pd.DataFrame:
    span = _ledger_window(inputs, inputs.config)
    if span is None:
        return metric_frame([], inputs.config.name)
    ledger = load_ledger(inputs.con, *span)
    return fn(ledger, inputs.config, f"{span[0].isoformat()}..{span[1].isoformat()}")


@register("bronze")
def quarantine_rate(inputs: CheckInputs) -> pd.DataFrame:
    """Share of records each feed quarantined over the last days (ingest ledger)."""
    return _ledger_check(inputs, quarantine_metrics)


@register("bronze")
def schema_drift(inputs: CheckInputs) -> pd.DataFrame:
    """Share of each feed's records in files with breaking schema drift (ingest ledger)."""
    return _ledger_check(inputs, drift_metrics)


@register("bronze")
def failed_files(inputs: CheckInputs) -> pd.DataFrame:
    """Landing files the ingest could not read (ingest ledger)."""
    return _ledger_check(inputs, failed_file_metrics)


# --- cross-feed: ad platform clicks vs tagged sessions --------------------------------------------------


def load_ad_clicks(con, first: date, last: date) -> pd.DataFrame:
    """Per day, platform and campaign: the platform's clicks and the sessions tagged with the campaign
    (``utm_campaign``) in the clickstream. ``day, platform, campaign_id, clicks, sessions``."""
    have = existing_tables(con)
    if not {"ad_spend", "clicks"} <= have:
        return pd.DataFrame(columns=["day", "platform", "campaign_id", "clicks", "sessions"])
    frame = con.execute(
        f"""
        with spend as (
            select event_date as day, platform, campaign_id, sum(clicks) as clicks from bronze.ad_spend
            where event_date between {_q(first)} and {_q(last)} group by all
        ),
        sessions as (
            select event_date as day, utm_campaign as campaign_id, count(distinct session_id) as sessions
            from bronze.clicks
            where event_date between {_q(first)} and {_q(last)} and utm_campaign is not null group by all
        )
        select spend.day, spend.platform, spend.campaign_id, spend.clicks, coalesce(sessions.sessions, 0) as sessions
        from spend left join sessions using (day, campaign_id)
        """
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def ad_click_metrics(clicks: pd.DataFrame, days: list[date], cfg: CheckConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two metrics per platform and day: ``ad_sessions_per_click`` (tagged sessions / platform clicks: a
    few percent under 1) and ``ad_clicks_without_sessions`` (share of the platform's clicks on campaigns
    with ``min_clicks`` or more clicks and not one tagged session)."""
    ratio_rows, orphan_rows = [], []
    min_clicks = int(cfg.get("min_clicks", 5))
    for platform, group in clicks[clicks["day"].isin(days)].groupby(["platform"]):
        platform = platform[0] if isinstance(platform, tuple) else platform
        table = f"bronze.ad_spend[{platform}]"
        if table not in cfg.tables:
            continue
        for day, daily in group.groupby("day"):
            total_clicks, total_sessions = int(daily["clicks"].sum()), int(daily["sessions"].sum())
            if total_clicks < cfg.table(table).get("min_daily_clicks", 20):
                continue
            lost = daily[(daily["sessions"] == 0) & (daily["clicks"] >= min_clicks)]
            examples = (f"{c} ({n} clicks)" for c, n in zip(lost["campaign_id"], lost["clicks"], strict=True))
            ratio_rows.append(
                {
                    "table_name": table,
                    "key": day.isoformat(),
                    "value": total_sessions / total_clicks,
                    "note": f"{total_sessions} tagged sessions for {total_clicks} platform clicks",
                }
            )
            orphan_rows.append(
                {
                    "table_name": table,
                    "key": day.isoformat(),
                    "value": int(lost["clicks"].sum()) / total_clicks,
                    "note": f"{len(lost)} campaign(s) with {int(lost['clicks'].sum())} clicks and no session",
                    "sample": _sample(examples),
                }
            )
    return metric_frame(ratio_rows, "ad_sessions_per_click"), metric_frame(orphan_rows, "ad_clicks_without_sessions")


def _ad_click_frames(inputs: CheckInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = inputs.config
    days = inputs.window.complete_days(cfg.get("settle_hours", 7))
    if not days:
        return metric_frame([], "ad_sessions_per_click"), metric_frame([], "ad_clicks_without_sessions")
    return ad_click_metrics(load_ad_clicks(inputs.con, days[0], days[-1]), days, cfg)


@register("bronze")
def ad_sessions_per_click(inputs: CheckInputs) -> pd.DataFrame:
    """Sessions tagged with a platform's campaigns per click the platform reports (a few percent under 1)."""
    return _ad_click_frames(inputs)[0]


@register("bronze")
def ad_clicks_without_sessions(inputs: CheckInputs) -> pd.DataFrame:
    """Share of a platform's clicks on campaigns that no session in the clickstream is tagged with."""
    return _ad_click_frames(inputs)[1]


# --- cross-feed: purchases vs orders, shipped orders vs manifests, orphan tracking ----------------------


def load_purchase_matches(con, first: date, last: date, lateness_days: int) -> pd.DataFrame:
    """Purchase events of the days and whether their order is in bronze orders (versions up to the
    lateness window later): ``day, refs, unmatched, sample``."""
    if not {"clicks", "orders"} <= existing_tables(con):
        return pd.DataFrame(columns=["day", "refs", "unmatched", "sample"])
    until = last + timedelta(days=lateness_days + 1)
    return _matches(
        con,
        f"""
        with refs as (
            select event_date as day, order_id as ref from bronze.clicks
            where event_name = 'purchase' and event_date between {_q(first)} and {_q(last)}
        ),
        known as (
            select distinct order_id as ref from bronze.orders
            where event_date between {_q(first - timedelta(days=1))} and {_q(until)}
        )
        """,
    )


def load_shipped_order_matches(con, first: date, last: date, lateness_days: int) -> pd.DataFrame:
    """Shipments named by the orders' ``shipped`` versions of the days vs the carriers' manifests."""
    if not {"orders", "shipments"} <= existing_tables(con):
        return pd.DataFrame(columns=["day", "refs", "unmatched", "sample"])
    until = last + timedelta(days=lateness_days + 1)
    return _matches(
        con,
        f"""
        with shipped as (
            select event_date as day, shipments from bronze.orders
            where status = 'shipped' and event_date between {_q(first)} and {_q(last)}
        ),
        refs as (
            select day, unnest(from_json(shipments, '[{{"shipment_id": "VARCHAR"}}]')).shipment_id as ref
            from shipped
        ),
        known as (
            select distinct shipment_id as ref from bronze.shipments
            where event_date between {_q(first - timedelta(days=lateness_days + 1))} and {_q(until)}
        )
        """,
    )


def load_manifest_order_matches(con, first: date, last: date, lateness_days: int) -> pd.DataFrame:
    """Orders named by the manifests of the days vs orders with a ``shipped`` version around the ship date."""
    if not {"orders", "shipments"} <= existing_tables(con):
        return pd.DataFrame(columns=["day", "refs", "unmatched", "sample"])
    until = last + timedelta(days=lateness_days + 1)
    return _matches(
        con,
        f"""
        with refs as (
            select event_date as day, unnest(string_split(order_ids, '|')) as ref from bronze.shipments
            where event_date between {_q(first)} and {_q(last)}
        ),
        known as (
            select distinct order_id as ref from bronze.orders
            where status = 'shipped'
                and event_date between {_q(first - timedelta(days=lateness_days + 1))} and {_q(until)}
        )
        """,
    )


def load_orphan_tracking(con, first: date, last: date) -> pd.DataFrame:
    """Tracking events of the days whose tracking number is in no manifest (any date)."""
    if not {"tracking_events", "shipments"} <= existing_tables(con):
        return pd.DataFrame(columns=["day", "refs", "unmatched", "sample"])
    return _matches(
        con,
        f"""
        with refs as (
            select event_date as day, tracking_number as ref from bronze.tracking_events
            where event_date between {_q(first)} and {_q(last)}
        ),
        known as (select distinct tracking_number as ref from bronze.shipments)
        """,
    )


def _matches(con, ctes: str) -> pd.DataFrame:
    frame = con.execute(
        ctes
        + f"""
        select refs.day, count(*) as refs,
            count(*) filter (where known.ref is null) as unmatched,
            list(distinct coalesce(refs.ref, '(null)')) filter (where known.ref is null)[1:{SAMPLE_SIZE}] as sample
        from refs left join known on known.ref = refs.ref
        group by refs.day
        """
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["sample"] = frame["sample"].map(lambda v: _sample(v) if isinstance(v, list | tuple | np.ndarray) else "")
    return frame


def match_metrics(matches: pd.DataFrame, days: list[date], table: str, check: str, what: str) -> pd.DataFrame:
    """Share of references still unmatched, per day (days without references are left out)."""
    rows = []
    for day in days:
        row = matches[matches["day"] == day]
        refs = int(row["refs"].sum())
        if refs == 0:
            continue
        unmatched = int(row["unmatched"].sum())
        rows.append(
            {
                "table_name": table,
                "key": day.isoformat(),
                "value": unmatched / refs,
                "note": f"{unmatched} of {refs} {what} unmatched",
                "sample": row["sample"].iloc[0] if unmatched else "",
            }
        )
    return metric_frame(rows, check)


def _match_check(inputs: CheckInputs, loader, check: str, what: str, with_lateness: bool = True) -> pd.DataFrame:
    cfg = inputs.config
    frames = []
    for table in cfg.tables:
        days = inputs.window.matured_days(cfg.table(table).get("settle_hours", 7))
        if not days:
            continue
        args = (days[0], days[-1], inputs.window.lateness_days) if with_lateness else (days[0], days[-1])
        frames.append(match_metrics(loader(inputs.con, *args), days, table, check, what))
    return metric_frame(pd.concat(frames) if frames else [], check)


@register("bronze")
def purchases_without_order(inputs: CheckInputs) -> pd.DataFrame:
    """Purchase events whose order is still not in the orders feed after the lateness window."""
    return _match_check(inputs, load_purchase_matches, "purchases_without_order", "purchase events")


@register("bronze")
def shipped_orders_without_manifest(inputs: CheckInputs) -> pd.DataFrame:
    """Shipments named by shipped orders still missing from the carriers' manifests after the lateness window."""
    return _match_check(inputs, load_shipped_order_matches, "shipped_orders_without_manifest", "shipment references")


@register("bronze")
def manifest_orders_not_shipped(inputs: CheckInputs) -> pd.DataFrame:
    """Orders on a manifest that the orders feed never marked shipped within the lateness window."""
    return _match_check(inputs, load_manifest_order_matches, "manifest_orders_not_shipped", "manifest order references")


@register("bronze")
def orphan_tracking(inputs: CheckInputs) -> pd.DataFrame:
    """Tracking events whose tracking number is in no manifest after the lateness window."""
    return _match_check(inputs, load_orphan_tracking, "orphan_tracking", "tracking events", with_lateness=False)
