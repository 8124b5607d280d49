"""What a seller report shows, read from the published warehouse (the insights marts) for a batch of sellers.

Every query is filtered by seller id, so a report can only ever contain its own seller's rows; peer
benchmarks carry the seller's own percentile and the cohort size, never another seller's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

PERIODS = ("day", "week", "month")
TOP_SKUS = 5
# the forecasting job's table (spark_jobs/forecast: `point` per sku x market x day `ds`), read when it exists
FORECAST_TABLE = "gold.forecasts"
FORECAST_UNITS_COLUMNS = ("point", "units_forecast", "forecast_units", "yhat", "units")
FORECAST_DATE_COLUMNS = ("forecast_date", "date", "ds")
INVENTORY_ALERTS_TABLE = "gold.inventory_alerts"


def period_for(period_type: str, now: datetime, timezone: str) -> tuple[date, date]:
    """The last complete period before ``now`` in the seller's time zone: ``(start, end)`` inclusive."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if period_type == "day":
        day = today - timedelta(days=1)
        return day, day
    if period_type == "week":
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=6)
    if period_type == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise ValueError(f"unknown period {period_type!r}; expected one of {', '.join(PERIODS)}")


@dataclass
class ReportData:
    seller: dict[str, Any]
    period_type: str
    period_start: date
    period_end: date
    current: dict[str, Any]
    previous: dict[str, Any] | None
    daily: pd.DataFrame  # date_seller, gmv_home, orders, units (every day of the period)
    skus: pd.DataFrame  # every SKU of the seller for the period (zero rows included)
    csv: pd.DataFrame  # daily SKU metrics exported as CSV
    benchmarks: pd.DataFrame = field(default_factory=pd.DataFrame)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendations: pd.DataFrame = field(default_factory=pd.DataFrame)
    forecasts: pd.DataFrame | None = None  # None: the forecasting job's table does not exist
    has_inventory_alerts: bool = False
    published_at: str = ""

    @property
    def seller_id(self) -> str:
        return str(self.seller["seller_id"])

    @property
    def currency(self) -> str:
        return str(self.seller["home_currency_code"])

    @property
    def has_sales(self) -> bool:
        return int(self.current.get("orders") or 0) > 0

    @property
    def tier(self) -> str:
        return str(self.seller.get("plan_tier") or "free")


def _relation_exists(con, name: str) -> bool:
    schema, _, table = name.rpartition(".")
    found = con.execute(
        "select count(*) from duckdb_views() where view_name = ? and schema_name = ?", [table, schema or "main"]
    ).fetchone()[0]
    return bool(found)


def sellers(con, seller_ids: list[str] | None = None) -> pd.DataFrame:
    """Active sellers (or the named ones) with what reports need."""
    df = con.execute(
        "select seller_id, seller_name, home_currency_code, seller_timezone, seller_language, main_category, "
        "plan_tier, seller_status, report_email from dim_seller order by seller_id"
    ).df()
    if seller_ids:
        unknown = sorted(set(seller_ids) - set(df.seller_id))
        if unknown:
            raise ValueError(f"unknown seller(s): {', '.join(unknown)} (not in dim_seller of the published warehouse)")
        return df[df.seller_id.isin(seller_ids)].reset_index(drop=True)
    return df[df.seller_status.fillna("active") != "closed"].reset_index(drop=True)


def _frame(con, sql: str, keys: pd.DataFrame) -> pd.DataFrame:
    con.register("_report_keys", keys)
    try:
        return con.execute(sql).df()
    finally:
        con.unregister("_report_keys")


def load_batch(
    con, seller_rows: pd.DataFrame, period_type: str, now: datetime, published_at: str = ""
) -> list[ReportData]:
    """Report data for each seller in ``seller_rows`` for its last complete ``period_type`` (seller time zone)."""
    if period_type not in PERIODS:
        raise ValueError(f"unknown period {period_type!r}; expected one of {', '.join(PERIODS)}")
    keys = seller_rows[["seller_id", "seller_timezone"]].copy()
    bounds = [period_for(period_type, now, tz) for tz in keys.seller_timezone]
    keys["period_start"] = [b[0] for b in bounds]
    keys["period_end"] = [b[1] for b in bounds]
    keys["previous_start"] = [_previous_start(period_type, b[0]) for b in bounds]
    keys = keys[["seller_id", "period_start", "period_end", "previous_start"]]

    if period_type == "day":
        card = _frame(
            con,
            "select d.seller_id, d.date_seller as period_start, d.orders, d.units, d.gmv_home, d.refund_rate, "
            "d.refunds_home, d.gmv_home / nullif(d.orders, 0) as aov_home, "
            "k.period_start = d.date_seller as is_current "
            "from seller_daily d join _report_keys k on d.seller_id = k.seller_id "
            "and d.date_seller in (k.period_start, k.previous_start)",
            keys,
        )
    else:
        card = _frame(
            con,
            "select s.*, k.period_start = s.period_start as is_current from seller_scorecard s "
            "join _report_keys k on s.seller_id = k.seller_id and s.period_type = "
            f"'{period_type}' and s.period_start in (k.period_start, k.previous_start)",
            keys,
        )
    daily = _frame(
        con,
        "select d.seller_id, d.date_seller, sum(d.gmv_home) as gmv_home, sum(d.orders) as orders, "
        "sum(d.units) as units from seller_sku_daily d join _report_keys k on d.seller_id = k.seller_id "
        "and d.date_seller between k.period_start and k.period_end group by all order by all",
        keys,
    )
    skus = _frame(
        con,
        "select d.seller_id, d.sku, any_value(d.sku_title) as sku_title, sum(d.units) as units, "
        "sum(d.orders) as orders, sum(d.gmv_home) as gmv_home, sum(d.sessions) as sessions "
        "from seller_sku_daily d join _report_keys k on d.seller_id = k.seller_id "
        "and d.date_seller between k.period_start and k.period_end group by all "
        "order by d.seller_id, gmv_home desc, d.sku",
        keys,
    )
    full_csv = seller_rows[seller_rows.plan_tier == "enterprise"].seller_id.tolist()
    csv = _frame(
        con,
        "select d.seller_id, d.date_seller, d.sku, d.sku_title, d.units, d.orders, d.gmv_home, d.sessions, "
        "d.home_currency_code from seller_sku_daily d join _report_keys k on d.seller_id = k.seller_id "
        "and (d.date_seller between k.period_start and k.period_end or (d.seller_id in "
        f"({','.join(_q(s) for s in full_csv) or 'null'}) and d.date_seller <= k.period_end)) "
        "order by d.seller_id, d.date_seller, d.sku",
        keys,
    )
    extra: dict[str, pd.DataFrame] = {}
    if period_type != "day":
        for name, sql in {
            "benchmarks": "select b.* from seller_benchmarks b join _report_keys k using (seller_id, period_start) "
            f"where b.period_type = '{period_type}' and b.is_shown order by b.market_code, b.metric",
            "alerts": "select a.* from seller_alerts a join _report_keys k using (seller_id, period_start) "
            f"where a.period_type = '{period_type}' order by a.severity, a.alert_type, a.subject",
            "drivers": "select d.* from seller_drivers d join _report_keys k using (seller_id, period_start) "
            f"where d.period_type = '{period_type}' order by abs(d.change_home) desc, d.key",
            "recommendations": "select r.* from seller_recommendations r join _report_keys k "
            f"using (seller_id, period_start) where r.period_type = '{period_type}' "
            "order by r.priority, r.rule, r.subject",
        }.items():
            extra[name] = _frame(con, sql, keys)
    forecasts = _forecasts(con, keys)
    has_inventory_alerts = _relation_exists(con, INVENTORY_ALERTS_TABLE)

    out = []
    for row, key in zip(seller_rows.to_dict("records"), keys.to_dict("records"), strict=True):
        sid = row["seller_id"]
        mine = card[card.seller_id == sid]
        current = mine[mine.is_current]
        previous = mine[~mine.is_current]
        start, end = key["period_start"], key["period_end"]
        days = pd.DataFrame({"date_seller": pd.date_range(start, end, freq="D").date})
        d = daily[daily.seller_id == sid].copy()
        d["date_seller"] = pd.to_datetime(d["date_seller"]).dt.date
        days = days.merge(d.drop(columns="seller_id"), on="date_seller", how="left").fillna(0)
        out.append(
            ReportData(
                seller=row,
                period_type=period_type,
                period_start=start,
                period_end=end,
                current=current.iloc[0].to_dict() if len(current) else {"orders": 0, "units": 0, "gmv_home": 0.0},
                previous=previous.iloc[0].to_dict() if len(previous) else None,
                daily=days,
                skus=skus[skus.seller_id == sid].reset_index(drop=True),
                csv=csv[csv.seller_id == sid].drop(columns="seller_id").reset_index(drop=True),
                forecasts=None if forecasts is None else forecasts[forecasts.seller_id == sid],
                has_inventory_alerts=has_inventory_alerts,
                published_at=published_at,
                **{k: v[v.seller_id == sid].reset_index(drop=True) for k, v in extra.items()},
            )
        )
    return out


def _q(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _previous_start(period_type: str, start: date) -> date:
    if period_type == "day":
        return start - timedelta(days=1)
    if period_type == "week":
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)


def _forecasts(con, keys: pd.DataFrame) -> pd.DataFrame | None:
    """Units forecast per seller over the days after the period, from ``gold.forecasts`` when it exists
    (assumed columns: ``sku``, a date column of :data:`FORECAST_DATE_COLUMNS` and a units column of
    :data:`FORECAST_UNITS_COLUMNS`; ``seller_id`` optional, else through the seller's SKUs)."""
    if not _relation_exists(con, FORECAST_TABLE):
        return None
    columns = {r[0] for r in con.execute(f"describe {FORECAST_TABLE}").fetchall()}
    date_col = next((c for c in FORECAST_DATE_COLUMNS if c in columns), None)
    units_col = next((c for c in FORECAST_UNITS_COLUMNS if c in columns), None)
    if date_col is None or units_col is None or "sku" not in columns:
        raise ValueError(
            f"{FORECAST_TABLE} has columns {sorted(columns)}; reports need sku, one of {FORECAST_DATE_COLUMNS} "
            f"and one of {FORECAST_UNITS_COLUMNS}"
        )
    seller = "f.seller_id" if "seller_id" in columns else "p.seller_id"
    join = "" if "seller_id" in columns else "join (select distinct seller_id, sku from seller_sku_daily) p using (sku)"
    return _frame(
        con,
        f"select {seller} as seller_id, sum(f.{units_col})::double as units, count(distinct f.{date_col}) as days "
        f"from {FORECAST_TABLE} f {join} join _report_keys k on k.seller_id = {seller} "
        f"and f.{date_col}::date > k.period_end and f.{date_col}::date <= k.period_end + interval 28 day group by 1",
        keys,
    )
