"""Commerce marts (fct_orders, fct_returns, seller_daily, dim_customer, silver daily_sales) against an
independent polars recomputation from bronze orders + FX rates: orders, units, GMV (FX at the order date,
last published rate carried forward), refunds by refund date (refund date's rate) and new customers, per UTC
date and per seller; plus the simulator's ground truth (daily totals, fulfilment warehouses, lost demand)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.integration.recompute import bronze, fx_to_reporting, query

pytestmark = pytest.mark.integration

REL_TOL = 1e-6
ITEM_SCHEMA = pl.List(pl.Struct({"line_no": pl.Int64, "sku": pl.String, "qty": pl.String}))


@pytest.fixture(scope="module")
def expected(tiny_warehouse) -> pl.DataFrame:
    """One row per bronze order: its latest version, units, GMV and refund in USD, first-order flag."""
    versions = bronze("orders")
    refunds = (
        versions.filter(pl.col("refund_amount") > 0).group_by("order_id").agg(refunded_at=pl.col("updated_at").min())
    )
    latest = (
        versions.sort(["version", "_ingested_at"])
        .unique("order_id", keep="last")
        .join(refunds, on="order_id", how="left")
    )
    units = (
        latest.select("order_id", items=pl.col("items").str.json_decode(ITEM_SCHEMA))
        .explode("items")
        .select("order_id", qty=pl.col("items").struct.field("qty").cast(pl.Int64))
        .group_by("order_id")
        .agg(units=pl.col("qty").sum())
    )
    fx = fx_to_reporting()
    sellers = (
        bronze("sellers")
        .filter(pl.col("snapshot_date") == pl.col("snapshot_date").max())
        .select("seller_id", home="home_currency", tz="timezone")
    )
    out = (
        latest.join(units, on="order_id", how="left")
        .join(sellers, on="seller_id", how="left")
        .with_columns(
            order_date=pl.col("created_at").dt.convert_time_zone("UTC").dt.date(),
            refund_date=pl.col("refunded_at").dt.convert_time_zone("UTC").dt.date(),
            cancelled=pl.col("status") == "cancelled",
            item_value=(pl.col("subtotal") - pl.col("discount_total")).cast(pl.Float64),
            refund=pl.col("refund_amount").cast(pl.Float64).fill_null(0.0),
        )
        .join(fx.rename({"day": "order_date", "to_reporting": "fx"}), on=["currency", "order_date"], how="left")
        .join(
            fx.rename({"currency": "home", "day": "order_date", "to_reporting": "fx_home"}),
            on=["home", "order_date"],
            how="left",
        )
        .join(
            fx.rename({"day": "refund_date", "to_reporting": "fx_refund"}), on=["currency", "refund_date"], how="left"
        )
        .with_columns(
            gmv=pl.col("item_value") * pl.col("fx"),
            gmv_home=pl.col("item_value") * pl.col("fx") / pl.col("fx_home"),
            refund_usd=pl.col("refund") * pl.col("fx_refund"),
        )
    )
    first = (
        out.filter(~pl.col("cancelled") & pl.col("customer_key").is_not_null())
        .sort(["created_at", "order_id"])
        .unique("customer_key", keep="first")
        .select("order_id", is_first=pl.lit(True))
    )
    out = out.join(first, on="order_id", how="left").with_columns(pl.col("is_first").fill_null(False))
    per_zone = [
        part.with_columns(order_date_seller=pl.col("created_at").dt.convert_time_zone(zone).dt.date())
        for (zone,), part in out.group_by("tz")
    ]
    return pl.concat(per_zone)


def assert_frames_close(actual: pl.DataFrame, wanted: pl.DataFrame, keys: list[str]) -> None:
    joined = wanted.join(actual, on=keys, how="full", suffix="_mart", coalesce=True)
    assert joined.height == wanted.height == actual.height, "row sets differ"
    for col in wanted.columns:
        if col in keys:
            continue
        pairs = joined.select(pl.col(col).fill_null(0), pl.col(f"{col}_mart").fill_null(0))
        for want, got in pairs.iter_rows():
            assert abs(float(got) - float(want)) <= REL_TOL * max(1.0, abs(float(want))), (col, want, got)


def test_every_bronze_order_reaches_fct_orders_once(tiny_warehouse, expected):
    marts = query(tiny_warehouse, "select order_id from main.fct_orders")
    assert marts.height == marts["order_id"].n_unique() == expected.height
    assert set(marts["order_id"]) == set(expected["order_id"])
    assert expected["fx"].null_count() == 0 and expected["fx_home"].null_count() == 0


def test_daily_order_kpis_match_bronze(tiny_warehouse, expected):
    wanted = (
        expected.filter(~pl.col("cancelled"))
        .group_by("order_date")
        .agg(
            orders=pl.len(),
            units=pl.col("units").sum(),
            gmv=pl.col("gmv").sum(),
            new_customers=pl.col("is_first").sum(),
        )
    )
    actual = query(
        tiny_warehouse,
        """
        select order_date, count(*) as orders, sum(units) as units, sum(item_value_reporting) as gmv,
               count(distinct case when is_first_order then customer_key end) as new_customers
        from main.fct_orders where not is_cancelled group by order_date
        """,
    )
    assert wanted["gmv"].sum() > 0
    assert_frames_close(actual, wanted, ["order_date"])


def test_refunds_by_refund_date_match_bronze(tiny_warehouse, expected):
    wanted = (
        expected.filter(pl.col("refund") > 0)
        .group_by("refund_date")
        .agg(refunds=pl.col("refund_usd").sum(), refunded=pl.len())
    )
    actual = query(
        tiny_warehouse,
        """
        select refund_date, sum(refund_amount_reporting) as refunds, count(*) as refunded
        from main.fct_returns group by refund_date
        """,
    )
    assert wanted.height > 0
    assert_frames_close(actual, wanted, ["refund_date"])


def test_seller_daily_matches_bronze_per_seller_and_local_day(tiny_warehouse, expected):
    wanted = (
        expected.filter(~pl.col("cancelled"))
        .group_by("seller_id", date_seller="order_date_seller")
        .agg(
            orders=pl.len(),
            units=pl.col("units").sum(),
            gmv_reporting=pl.col("gmv").sum(),
            gmv_home=pl.col("gmv_home").sum(),
            new_customers=pl.col("is_first").sum(),
        )
    )
    actual = query(
        tiny_warehouse,
        """
        select seller_id, date_seller, orders, units, gmv_reporting, gmv_home, new_customers
        from main.seller_daily where orders > 0
        """,
    )
    assert_frames_close(actual, wanted, ["seller_id", "date_seller"])

    refunds = expected.filter(pl.col("refund") > 0).group_by("seller_id").agg(refunds=pl.col("refund_usd").sum())
    totals = query(
        tiny_warehouse,
        "select seller_id, sum(refunds_reporting) as refunds from main.seller_daily group by seller_id "
        "having sum(refunds_reporting) <> 0",
    )
    assert_frames_close(totals, refunds, ["seller_id"])


def test_dim_customer_holds_no_raw_pii(tiny_warehouse):
    customers = query(tiny_warehouse, "select * from main.dim_customer")
    assert customers.height == customers["customer_key"].n_unique() > 0
    for column in customers.columns:
        assert not any(word in column for word in ("name", "email", "phone", "address", "customer_id")), column
    pii = bronze("orders_pii")
    raw_values = set()
    for column in ("customer_id", "buyer_name", "buyer_email", "buyer_phone"):
        raw_values |= {v for v in pii[column].drop_nulls().to_list() if v}
    assert raw_values, "bronze.orders_pii is empty: the check would prove nothing"
    for column, dtype in customers.schema.items():
        if dtype == pl.String:
            leaked = raw_values & set(customers[column].drop_nulls().to_list())
            assert not leaked, f"dim_customer.{column} holds raw PII"


def test_daily_sales_is_a_complete_calendar_of_units(tiny_warehouse, expected):
    lines = (
        expected.filter(~pl.col("cancelled"))
        .select("order_date", "marketplace", items=pl.col("items").str.json_decode(ITEM_SCHEMA))
        .explode("items")
        .select(
            "order_date",
            market_code="marketplace",
            sku=pl.col("items").struct.field("sku"),
            qty=pl.col("items").struct.field("qty").cast(pl.Int64),
        )
    )
    wanted = lines.group_by("sku", "market_code", sales_date="order_date").agg(units=pl.col("qty").sum())
    sales = query(tiny_warehouse, "select sku, market_code, sales_date, units from silver.daily_sales")
    assert_frames_close(sales.filter(pl.col("units") > 0), wanted, ["sku", "market_code", "sales_date"])

    last_day = expected["order_date"].max()
    spans = wanted.group_by("sku", "market_code").agg(first=pl.col("sales_date").min())
    expected_rows = spans.select(((last_day - pl.col("first")).dt.total_days() + 1).sum()).item()
    assert sales.height == expected_rows
    assert sales.filter(pl.col("units") == 0).height > 0


def test_daily_sales_stockouts_explain_the_simulated_lost_demand(tiny_warehouse, tiny_landing):
    truth = tiny_landing / "_simulator"
    sales = query(
        tiny_warehouse, "select sku, market_code, sales_date, serving_warehouse, is_stockout from silver.daily_sales"
    )
    fulfilment = pl.read_parquet(truth / "demand_params.parquet").select(
        "sku", market_code="market", true_warehouse="fulfilment_warehouse"
    )
    series = sales.unique(["sku", "market_code"]).join(fulfilment, on=["sku", "market_code"], how="left")
    assert (series["serving_warehouse"] == series["true_warehouse"]).all()

    lost = pl.read_parquet(truth / "lost_demand.parquet").join(
        sales, left_on=["sku", "market", "date"], right_on=["sku", "market_code", "sales_date"], how="inner"
    )
    assert lost.height > 0, "no lost demand on a selling series: the check would prove nothing"
    assert lost["is_stockout"].mean() >= 0.9
    assert sales["is_stockout"].mean() < 0.2


def test_daily_orders_match_the_simulator_ground_truth(tiny_warehouse, tiny_landing):
    """The simulator's true daily orders, units and order totals in USD (all statuses, its own FX before
    the published rates were rounded) agree with fct_orders by UTC order date."""
    truth = json.loads((tiny_landing / "_simulator" / "ground_truth.json").read_text())
    wanted = {d["date"]: d["orders"] for d in truth["days"]}
    rows = query(
        tiny_warehouse,
        "select order_date::varchar as day, count(*) as orders, sum(units) as units, "
        "sum(order_total_reporting) as total_usd from main.fct_orders group by order_date",
    )
    assert rows.height == len(wanted)
    for day, orders, units, total_usd in rows.iter_rows():
        assert (orders, units) == (wanted[day]["new_orders"], wanted[day]["units"]), day
        assert total_usd == pytest.approx(wanted[day]["gmv_usd"], rel=1e-3), day
