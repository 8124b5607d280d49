"""Gold-layer checks: the Spark jobs' outputs (``lake/gold``) against silver and their own invariants.

Run by ``lakehouse check --layer gold`` after ``lakehouse build --layer gold``; thresholds under ``gold:`` in
``thresholds.yml``. The gold tables are rebuilt whole, so these checks read them whole (not a window).
"""

from __future__ import annotations

import pandas as pd

from expectations.checks import CheckInputs, metric_frame, register
from expectations.reconcile import _has, _missing

# orders not cancelled of known customers: what the attribution job converts into journeys' conversions
SILVER_CONVERSIONS = """
    select count(*) as orders, coalesce(sum(revenue), 0) as revenue
    from (
        select order_id, sum(line_value_reporting) as revenue
        from silver.order_lines
        where not coalesce(is_cancelled, false) and customer_key is not null
        group by order_id
    )
"""


@register("gold")
def attribution_conservation(inputs: CheckInputs) -> pd.DataFrame:
    """Per model: |credited - actual| / actual of conversions and of revenue (the larger of the two), gold
    attribution and the aggregate Markov allocation vs the orders of silver order_lines."""
    if not _has(inputs.con, "gold.attribution", "gold.attribution_removal_effects", "silver.order_lines"):
        return _missing(inputs, "attribution_conservation", "gold.attribution* / silver.order_lines")
    orders, revenue = inputs.con.execute(SILVER_CONVERSIONS).fetchone()
    rows = []
    for table in inputs.config.tables:
        credited = inputs.con.execute(
            f"select model, sum(conversions) as conversions, sum(revenue_reporting) as revenue from {table} "
            "group by model order by model"
        ).fetchall()
        if not credited:
            rows.append({"table_name": table, "key": "empty", "value": None, "note": f"{table} has no rows"})
        for model, conversions, model_revenue in credited:
            gaps = [abs(conversions - orders) / max(orders, 1), abs(model_revenue - float(revenue)) / max(revenue, 1)]
            rows.append(
                {
                    "table_name": table,
                    "key": model,
                    "value": max(gaps),
                    "note": f"conversions {conversions:.6f} vs {orders} orders; revenue {model_revenue:.4f} vs "
                    f"{float(revenue):.4f}",
                }
            )
    return metric_frame(rows, "attribution_conservation")


@register("gold")
def attribution_non_negative(inputs: CheckInputs) -> pd.DataFrame:
    """Per model: the smallest credited conversions or revenue of any gold attribution row."""
    if not _has(inputs.con, "gold.attribution"):
        return _missing(inputs, "attribution_non_negative", "gold.attribution")
    frame = inputs.con.execute(
        "select model as key, min(least(conversions, revenue_reporting)) as value, "
        "count(*) filter (where conversions < 0 or revenue_reporting < 0) || ' negative rows' as note "
        "from gold.attribution group by model order by model"
    ).df()
    frame["table_name"] = "gold.attribution"
    return metric_frame(frame, "attribution_non_negative")


@register("gold")
def removal_effect_range(inputs: CheckInputs) -> pd.DataFrame:
    """Every Markov removal effect (conversion and value chain), one metric row per model x channel x kind."""
    if not _has(inputs.con, "gold.attribution_removal_effects"):
        return _missing(inputs, "removal_effect_range", "gold.attribution_removal_effects")
    frame = inputs.con.execute(
        "select model || ' ' || channel || ' ' || kind as key, value from gold.attribution_removal_effects "
        "unpivot (value for kind in (removal_effect, revenue_removal_effect)) order by key"
    ).df()
    frame["table_name"] = "gold.attribution_removal_effects"
    return metric_frame(frame, "removal_effect_range")
