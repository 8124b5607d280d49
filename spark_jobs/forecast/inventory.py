"""Inventory policy from demand forecasts: safety stock, reorder point, days of cover, projected stockout date and
alerts per SKU x warehouse. Pure pandas: the frames are one row per SKU x warehouse (x horizon day)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from spark_jobs.forecast.config import ForecastConfig


def safety_stock(z: float, lead_days: float, lead_std: float, daily_mean: float, daily_std: float) -> float:
    """Safety stock for demand and lead-time uncertainty: ``z * sqrt(L * sigma_d^2 + d^2 * sigma_L^2)``."""
    return z * math.sqrt(lead_days * daily_std**2 + daily_mean**2 * lead_std**2)


def reorder_point(lead_days: float, daily_mean: float, safety: float) -> float:
    """Demand over the lead time plus safety stock."""
    return daily_mean * lead_days + safety


def projected_stockout(
    origin: date, available: float, inbound: float, inbound_eta: date | None, daily: np.ndarray
) -> date | None:
    """First day the forecast demand exhausts the stock (inbound stock counts from its ETA); past the horizon the
    last forecast day's rate is extrapolated. None when the forecast never exhausts it."""
    stock = float(available)
    for i, demand in enumerate(daily):
        day = origin + timedelta(days=i)
        if inbound and inbound_eta is not None and day >= inbound_eta:
            stock, inbound = stock + inbound, 0.0
        stock -= float(demand)
        if stock < 0:
            return day
    rate = float(daily[-1]) if len(daily) else 0.0
    if rate <= 1e-9:
        return None
    days = len(daily) + (stock + inbound) / rate
    return origin + timedelta(days=int(days)) if days < 3 * 365 else None


def plan(
    demand: pd.DataFrame, stock: pd.DataFrame, lead_times: pd.DataFrame, origin: date, cfg: ForecastConfig
) -> pd.DataFrame:
    """One row per SKU x warehouse with stock or forecast demand.

    ``demand``: sku, warehouse_code, ds, point (forecast summed over the markets the warehouse serves) and
    daily_std (the SKU's daily demand std at that warehouse); ``stock``: sku, warehouse_code, qty_available,
    qty_inbound, inbound_eta (latest snapshot); ``lead_times``: warehouse_code, lead_time_days, lead_time_std.
    """
    z = float(stats.norm.ppf(cfg.service_level))
    daily = {
        key: (frame.sort_values("ds")["point"].to_numpy(dtype=float), float(frame["daily_std"].iloc[0]))
        for key, frame in demand.groupby(["sku", "warehouse_code"], sort=True)
    }
    keys = sorted(set(daily) | set(zip(stock["sku"], stock["warehouse_code"], strict=True)))
    stock_by_key = stock.set_index(["sku", "warehouse_code"]).to_dict("index")
    lead = lead_times.set_index("warehouse_code").to_dict("index")
    rows = []
    for sku, warehouse in keys:
        path, daily_std = daily.get((sku, warehouse), (np.zeros(0), 0.0))
        d = float(path.mean()) if len(path) else 0.0
        s = stock_by_key.get((sku, warehouse), {})
        available = float(s.get("qty_available") or 0)
        inbound = float(s.get("qty_inbound") or 0)
        eta = s.get("inbound_eta")
        eta = None if eta is None or pd.isna(eta) else pd.Timestamp(eta).date()
        lt = lead.get(warehouse) or {"lead_time_days": cfg.origin_lead_time_days, "lead_time_std": 0.0}
        lead_days, lead_std = float(lt["lead_time_days"]), float(lt["lead_time_std"] or 0.0)
        ss = safety_stock(z, lead_days, lead_std, d, daily_std)
        rop = reorder_point(lead_days, d, ss)
        stockout = projected_stockout(origin, available, inbound, eta, path)
        rows.append(
            {
                "sku": sku,
                "warehouse_code": warehouse,
                "as_of_date": origin - timedelta(days=1),
                "qty_available": available,
                "qty_inbound": inbound,
                "inbound_eta": eta,
                "mean_daily_demand": d,
                "daily_demand_std": daily_std,
                "lead_time_days": lead_days,
                "lead_time_std": lead_std,
                "service_level": cfg.service_level,
                "safety_stock": ss,
                "reorder_point": rop,
                "days_of_cover": available / d if d > 1e-9 else None,
                "projected_stockout_date": stockout,
            }
        )
    columns = [
        "sku", "warehouse_code", "as_of_date", "qty_available", "qty_inbound", "inbound_eta", "mean_daily_demand",
        "daily_demand_std", "lead_time_days", "lead_time_std", "service_level", "safety_stock", "reorder_point",
        "days_of_cover", "projected_stockout_date",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def alerts(plan_frame: pd.DataFrame, origin: date, cfg: ForecastConfig) -> pd.DataFrame:
    """Alerts with a suggested quantity: ``stockout_risk`` (stock runs out within the lead time, or the inventory
    position is at/below the reorder point: order up to reorder point + review period's demand), ``overstock``
    (more than ``overstock_days`` of cover: the excess can be transferred or not re-ordered) and ``slow_mover``
    (stock but a forecast under ``slow_mover_units_per_day``; checked first: slow movers are not replenished)."""
    rows = []
    for r in plan_frame.itertuples(index=False):
        position = r.qty_available + r.qty_inbound
        lead_end = origin + timedelta(days=math.ceil(r.lead_time_days))
        origin_wh = str(r.warehouse_code).startswith("CN-")
        base = {"sku": r.sku, "warehouse_code": r.warehouse_code, "as_of_date": r.as_of_date}
        if r.qty_available > 0 and r.mean_daily_demand < cfg.slow_mover_units_per_day:
            rows.append(
                base
                | {
                    "alert": "slow_mover",
                    "severity": "low",
                    "suggested_action": "clearance",
                    "suggested_qty": int(r.qty_available),
                    "reason": f"forecast {r.mean_daily_demand:.3f} units/day with {r.qty_available:.0f} in stock",
                }
            )
        elif r.mean_daily_demand > 1e-9 and (
            (r.projected_stockout_date is not None and r.projected_stockout_date <= lead_end)
            or position <= r.reorder_point
        ):
            target = r.reorder_point + r.mean_daily_demand * cfg.review_period_days
            qty = max(1, math.ceil(target - position))
            within = r.projected_stockout_date is not None and r.projected_stockout_date <= lead_end
            rows.append(
                base
                | {
                    "alert": "stockout_risk",
                    "severity": "high" if within else "medium",
                    "suggested_action": "purchase_order" if origin_wh else "transfer_from_origin",
                    "suggested_qty": qty,
                    "reason": (
                        f"stock runs out on {r.projected_stockout_date} within the {r.lead_time_days:.1f}-day lead time"
                        if within
                        else f"inventory position {position:.0f} at or below reorder point {r.reorder_point:.1f}"
                    ),
                }
            )
        elif r.days_of_cover is not None and r.days_of_cover > cfg.overstock_days:
            excess = math.floor(r.qty_available - r.mean_daily_demand * cfg.overstock_days)
            rows.append(
                base
                | {
                    "alert": "overstock",
                    "severity": "medium",
                    "suggested_action": "hold_purchases" if origin_wh else "transfer_out",
                    "suggested_qty": max(0, excess),
                    "reason": f"{r.days_of_cover:.0f} days of cover (over {cfg.overstock_days:.0f})",
                }
            )
    plan_cols = ["days_of_cover", "projected_stockout_date", "lead_time_days", "reorder_point", "safety_stock"]
    frame = pd.DataFrame(
        rows,
        columns=[
            "sku",
            "warehouse_code",
            "as_of_date",
            "alert",
            "severity",
            "suggested_action",
            "suggested_qty",
            "reason",
        ],
    )
    if frame.empty:
        return frame.assign(**{c: pd.Series(dtype="float64") for c in plan_cols})
    return frame.merge(plan_frame[["sku", "warehouse_code", *plan_cols]], on=["sku", "warehouse_code"], how="left")
