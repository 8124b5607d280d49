"""Gold quality checks of the insights job (``lakehouse check --layer gold``), thresholds in
``expectations/thresholds.yml`` under ``gold``."""

from __future__ import annotations

import pandas as pd

from expectations.checks import CheckInputs, metric_frame, register
from expectations.reconcile import _has, _missing


@register("gold")
def insights_ranges(inputs: CheckInputs) -> pd.DataFrame:
    """The smallest and largest value of each configured ``gold.<table>.<column>`` (health 0-100, rates and
    percentiles 0-1, money non-negative)."""
    rows = []
    for table in inputs.config.tables:
        relation, _, column = table.rpartition(".")
        if not _has(inputs.con, relation):
            return _missing(inputs, "insights_ranges", relation, table)
        lo, hi = inputs.con.execute(f"select min({column})::double, max({column})::double from {relation}").fetchone()
        for key, value in (("min", lo), ("max", hi)):
            if value is not None:
                rows.append({"table_name": table, "key": key, "value": value, "note": f"{column} {key} {value:g}"})
    return metric_frame(rows, "insights_ranges")


@register("gold")
def insights_small_cohorts_hidden(inputs: CheckInputs) -> pd.DataFrame:
    """Benchmark rows with a percentile although the cohort has fewer than 5 sellers (must be none)."""
    table = "gold.seller_benchmarks"
    if not _has(inputs.con, table):
        return _missing(inputs, "insights_small_cohorts_hidden", table)
    count = inputs.con.execute(
        f"select count(*) from {table} where cohort_size < 5 and (percentile is not null or is_shown)"
    ).fetchone()[0]
    return metric_frame([{"table_name": table, "key": "all", "value": count}], "insights_small_cohorts_hidden")


@register("gold")
def insights_units_reconcile(inputs: CheckInputs) -> pd.DataFrame:
    """Units of gold seller_sku_daily (zero rows included) vs silver order_lines not cancelled, whole history:
    |relative difference|."""
    table = "gold.seller_sku_daily"
    if not _has(inputs.con, table, "silver.order_lines"):
        return _missing(inputs, "insights_units_reconcile", f"{table} / silver.order_lines")
    want = inputs.con.execute(
        "select coalesce(sum(quantity), 0)::double from silver.order_lines where not is_cancelled"
    ).fetchone()[0]
    got = inputs.con.execute(f"select coalesce(sum(units), 0)::double from {table}").fetchone()[0]
    return metric_frame(
        [
            {
                "table_name": table,
                "key": "all",
                "value": abs(got - want) / max(want, 1.0),
                "note": f"silver {want:,.0f} vs gold {got:,.0f}",
            }
        ],
        "insights_units_reconcile",
    )
