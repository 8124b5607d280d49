"""Independent recomputation helpers for the warehouse tests: read bronze with polars (never the marts' SQL)
and query a built warehouse file into polars."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lakehouse.delta import read_polars
from lakehouse.duck import raw_connect
from lakehouse.settings import get_settings


def bronze(table: str) -> pl.DataFrame:
    return read_polars(get_settings().paths.table("bronze", table))


def query(database: Path, sql: str) -> pl.DataFrame:
    con = raw_connect(database, read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def fx_to_reporting(reporting: str = "USD") -> pl.DataFrame:
    """currency x calendar day -> multiplier into the reporting currency, each currency's last published
    rate carried forward on days without one (EUR is the base: 1 unit per EUR)."""
    raw = (
        bronze("fx_rates")
        .filter(pl.col("currency_denom") == "EUR")
        .sort("_ingested_at")
        .unique(["currency", "rate_date"], keep="last")
        .select(pl.col("currency").str.to_uppercase(), "rate_date", pl.col("rate").cast(pl.Float64))
    )
    eur = raw.select("rate_date").unique().with_columns(currency=pl.lit("EUR"), rate=pl.lit(1.0))
    raw = pl.concat([raw, eur.select(raw.columns)])
    days = pl.date_range(raw["rate_date"].min(), raw["rate_date"].max() + pl.duration(days=31), eager=True)
    grid = pl.DataFrame({"currency": raw["currency"].unique()}).join(pl.DataFrame({"day": days}), how="cross")
    carried = grid.sort("day").join_asof(
        raw.sort("rate_date"),
        left_on="day",
        right_on="rate_date",
        by="currency",
        strategy="backward",
        check_sortedness=False,
    )
    rep = carried.filter(pl.col("currency") == reporting).select("day", rep_rate="rate")
    return (
        carried.join(rep, on="day")
        .select("currency", "day", to_reporting=pl.col("rep_rate") / pl.col("rate"))
        .drop_nulls()
    )
