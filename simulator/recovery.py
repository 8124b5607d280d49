"""Recover planted parameters from the landing files alone, to check them against the ground truth.

Used by ``benchmarks/bench_simulator.py`` (demo scale) and the unit tests (tiny scale). Readers here are
tolerant (damaged lines yield nulls), as a first look at raw files should be.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

from simulator.generate import load_ground_truth

SEARCH_ENGINES = ("google.", "bing.", "yahoo.", "naver.", "duckduckgo.", "baidu.", "yandex.")


def read_lines(paths: list[Path]) -> pl.Series:
    """All lines of the given (gzip) NDJSON files as one string Series."""
    chunks = []
    for p in paths:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        text = data.decode("utf-8")
        if text:
            chunks.append(pl.Series(text.rstrip("\n").split("\n"), dtype=pl.String))
    return pl.concat(chunks) if chunks else pl.Series([], dtype=pl.String)


def _originals(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if "-resend" not in p.name)


def classify_channel() -> pl.Expr:
    """Marketing channel of a session from its landing event (the rules documented in FORMATS.md)."""
    src, med, ref = pl.col("utm_source"), pl.col("utm_medium"), pl.col("referrer").fill_null("")
    search_ref = pl.any_horizontal([ref.str.contains(s, literal=True) for s in SEARCH_ENGINES])
    return (
        pl.when((med == "cpc") & (src == "google"))
        .then(pl.lit("google_search"))
        .when(med == "shopping")
        .then(pl.lit("google_shopping"))
        .when((med == "paid_social") & (src == "tiktok"))
        .then(pl.lit("tiktok"))
        .when(med == "paid_social")
        .then(pl.lit("meta"))
        .when(med == "sponsored_products")
        .then(pl.lit("marketplace_ads"))
        .when(med == "email")
        .then(pl.lit("email"))
        .when(med == "affiliate")
        .then(pl.lit("affiliate"))
        .when(search_ref)
        .then(pl.lit("organic_search"))
        .when(ref != "")
        .then(pl.lit("referral"))
        .otherwise(pl.lit("direct"))
    )


def conversion_by_channel(root: Path) -> pl.DataFrame:
    """Users by acquisition channel (channel of their first session) and the share who purchased."""
    lines = read_lines(_originals(root, "clicks/dt=*/hour=*/*.ndjson.gz"))
    ev = (
        pl.DataFrame({"line": lines})
        .select(
            **{
                k: pl.col("line").str.json_path_match(f"$.{k}")
                for k in ("anonymous_id", "event_name", "event_ts", "utm_source", "utm_medium", "referrer")
            }
        )
        .filter(pl.col("anonymous_id").is_not_null() & pl.col("event_ts").is_not_null())
    )
    first = (
        ev.filter(pl.col("event_name") == "page_view")
        .sort("event_ts")
        .group_by("anonymous_id")
        .first()
        .with_columns(channel=classify_channel())
    )
    buyers = ev.filter(pl.col("event_name") == "purchase").select("anonymous_id").unique()
    return (
        first.join(buyers.with_columns(bought=pl.lit(1)), on="anonymous_id", how="left")
        .group_by("channel")
        .agg(users=pl.len(), converted=pl.col("bought").sum())
        .with_columns(conversion_rate=pl.col("converted") / pl.col("users"))
        .sort("channel")
    )


def on_time_by_lane(root: Path) -> pl.DataFrame:
    import json

    manifests = []
    for p in _originals(root, "logistics/manifests/dt=*/*.csv"):
        df = pl.read_csv(p, infer_schema=False)
        manifests.append(
            df.select("tracking_number", "origin_warehouse", "destination_country", "promised_delivery_date")
        )
    man = pl.concat(manifests).unique("tracking_number").filter(pl.col("tracking_number").is_not_null())
    delivered = []
    for p in _originals(root, "logistics/tracking/carrier=*/dt=*/*.json"):
        for e in json.loads(p.read_text()):
            if e.get("event_code") == "delivered":
                ts = e.get("event_time", e.get("event_timestamp"))
                if isinstance(ts, str) and "tracking_number" in e:
                    delivered.append((e["tracking_number"], ts[:10]))
    dl = pl.DataFrame(delivered, schema=["tracking_number", "delivered_date"], orient="row").unique("tracking_number")
    return (
        man.join(dl, on="tracking_number")
        .with_columns(on_time=pl.col("delivered_date") <= pl.col("promised_delivery_date"))
        .group_by("origin_warehouse", "destination_country")
        .agg(delivered=pl.len(), on_time=pl.col("on_time").sum())
        .with_columns(on_time_rate=pl.col("on_time") / pl.col("delivered"))
        .sort("origin_warehouse", "destination_country")
    )


def sales_series(root: Path) -> pl.DataFrame:
    """Units sold per SKU x market x day, from the first version of each order."""
    lines = read_lines(_originals(root, "orders/dt=*/hour=*/*.jsonl.gz"))
    created = lines.filter(lines.str.contains('"status":"created"', literal=True))
    df = (
        pl.DataFrame({"line": created})
        .select(
            order_id=pl.col("line").str.json_path_match("$.order_id"),
            marketplace=pl.col("line").str.json_path_match("$.marketplace"),
            day=pl.col("line").str.json_path_match("$.created_at").str.slice(0, 10),
            item=pl.col("line").str.json_path_match("$.items").str.extract_all(r'"sku":"[^"]+","qty":\d+'),
        )
        .filter(pl.col("order_id").is_not_null() & pl.col("marketplace").is_not_null())
    )
    return (
        df.unique("order_id")
        .explode("item")
        .with_columns(
            sku=pl.col("item").str.extract(r'"sku":"([^"]+)"'),
            qty=pl.col("item").str.extract(r'"qty":(\d+)').cast(pl.Int64),
        )
        .filter(pl.col("sku").is_not_null())
        .group_by("sku", "marketplace", "day")
        .agg(units=pl.col("qty").sum())
    )


def recover(root: Path) -> dict:
    """Recovered figures next to their ground-truth values."""
    root = Path(root)
    gt = load_ground_truth(root)
    conv = conversion_by_channel(root)
    rows = {r["channel"]: r for r in conv.to_dicts()}
    channels = {}
    for c, t in gt["channels"].items():
        r = rows.get(c, {})
        channels[c] = {
            "recovered": r.get("conversion_rate"),
            "truth": t["acquisition_conversion_rate"],
            "planted_effect": t["planted_effect"],
            "users": r.get("users"),
        }
    lanes = on_time_by_lane(root)
    truth_lanes = {(x["origin"], x["destination"]): x for x in gt["lanes"]}
    lane_rows = []
    for r in lanes.to_dicts():
        t = truth_lanes.get((r["origin_warehouse"], r["destination_country"]))
        if t and t["on_time_rate"] is not None:
            lane_rows.append(
                {
                    "lane": f"{r['origin_warehouse']}->{r['destination_country']}",
                    "recovered": r["on_time_rate"],
                    "truth": t["on_time_rate"],
                    "n": r["delivered"],
                }
            )
    sales = sales_series(root)
    days = gt["parameters"]["days"]
    selling = sales.group_by("sku", "marketplace").agg(days_with_sales=pl.len())
    smooth = int((selling["days_with_sales"] * 2 >= days).sum())
    series = gt["demand"]["series"]
    return {
        "channels": channels,
        "lanes": lane_rows,
        "intermittent_share": {"recovered": 1 - smooth / max(1, series), "truth": gt["demand"]["intermittent_share"]},
    }
