"""Turn one day's simulated facts into landing files, each in the shape its source system emits.

Records are rendered as text lines with vectorised polars string expressions (no per-record Python);
defects are planted later on these lines (see :mod:`simulator.defects`). FORMATS.md documents every shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.rng import hash_uniform, hex_ids, permute_digits

EVENT_NAMES = ["page_view", "search", "product_view", "add_to_cart", "begin_checkout", "purchase"]
DEVICES = ["mobile", "desktop", "tablet"]
ORDER_STATUSES = ["created", "paid", "cancelled", "shipped", "delivered", "returned", "refunded"]
SEARCH_TERMS = [n.lower() for nouns in ref.PRODUCT_NOUNS.values() for n in nouns]


@dataclass
class FileOut:
    """One landing file before serialisation: header lines plus one text line per record."""

    feed: str
    path: str  # relative to the landing root, inside the event-date partition
    fmt: str  # ndjson | csv | json_array | json
    lines: list[str]
    event_date: date
    arrival: datetime  # when the source would normally deliver it
    header: list[str] = field(default_factory=list)
    delimiter: str = ","
    compress: bool = False
    keys: list[str] | None = None  # record key of each line, for the defect list
    defect_kinds: tuple[str, ...] = ()
    roles: dict[str, int] = field(default_factory=dict)  # CSV column index of key/amount/currency/count


def _ts_utc(col: pl.Expr) -> pl.Expr:
    return pl.from_epoch(col, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def _money(col: pl.Expr, decimals: pl.Expr) -> pl.Expr:
    a = col.abs()
    two = a.floordiv(100).cast(pl.String) + pl.lit(".") + (a % 100).cast(pl.String).str.zfill(2)
    body = pl.when(decimals == 2).then(two).otherwise(a.cast(pl.String))
    return pl.when(col < 0).then(pl.lit("-") + body).otherwise(body)


def _q(name: str, expr: pl.Expr, first: bool = False) -> pl.Expr:
    """``"name":"value"`` (null when the value is null, so the key is left out)."""
    return pl.lit(("" if first else ",") + f'"{name}":"') + expr + pl.lit('"')


def _n(name: str, expr: pl.Expr) -> pl.Expr:
    return pl.lit(f',"{name}":') + expr.cast(pl.String)


def _hourly(ts: np.ndarray, day0: int) -> np.ndarray:
    return ((ts - day0) // 3_600_000).astype(np.int64)


def _arrival_hour(d: date, hour: int, salt: int) -> datetime:
    minutes = 5 + int(hash_uniform(salt, d.toordinal(), hour)[()] * 20)
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=hour + 1, minutes=minutes)


def _arrival_daily(d: date, salt: int) -> datetime:
    minutes = 60 + int(hash_uniform(salt, d.toordinal())[()] * 300)
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=1, minutes=minutes)


def sku_strings(world) -> np.ndarray:
    return world.products["sku"].to_numpy()


def customer_ids(cust: pl.Expr) -> pl.Expr:
    return pl.lit("CU") + cust.cast(pl.String).str.zfill(10)


def customers_frame(world, cust: np.ndarray) -> pl.DataFrame:
    """Realistic-looking PII for customer ids, derived from name pools by hashing (no stored customer table)."""
    m = cust // 100_000_000
    k = cust % 100_000_000
    pools = world.name_pools
    codes = ref.MARKET_CODES
    h = [hash_uniform(world.seed, cust, i) for i in range(8)]
    first = np.concatenate([pools[c][0] for c in codes])
    last = np.concatenate([pools[c][1] for c in codes])
    users = np.concatenate([np.resize(pools[c][2], 20) for c in codes])
    streets = np.concatenate([pools[c][3] for c in codes])
    cities = np.concatenate([pools[c][4] for c in codes])
    posts = np.concatenate([pools[c][5] for c in codes])
    domains = np.concatenate([pools[c][6] for c in codes])
    ci = m * 15 + (h[4] * 15).astype(np.int64)
    base = world.customer_base[m]
    signup_off = np.where(k >= base, (k - base) // world.customer_growth[m], -1 - (h[6] * 1000).astype(np.int64))
    start = np.datetime64(world.start.isoformat())
    phone_cc = np.array([mk[9] for mk in ref.MARKETS])[m]
    return pl.DataFrame(
        {
            "customer_id": cust,
            "first": first[m * 40 + (h[0] * 40).astype(np.int64)],
            "last": last[m * 40 + (h[1] * 40).astype(np.int64)],
            "user": users[m * 20 + (h[2] * 20).astype(np.int64)],
            "num": (h[7] * 100).astype(np.int64),
            "domain": domains[m * 5 + (h[3] * 5).astype(np.int64)],
            "street": streets[m * 30 + (h[5] * 30).astype(np.int64)],
            "house": 1 + (h[5] * 1e6).astype(np.int64) % 250,
            "city": cities[ci],
            "postal_code": posts[ci],
            "country": np.array(codes)[m],
            "language": np.array([mk[2] for mk in ref.MARKETS])[m],
            "phone": np.char.add(np.char.add("+", phone_cc.astype(str)), " ")
            + (600000000 + (h[6] * 3.99e8).astype(np.int64)).astype(str),
            "signup_date": (start + signup_off.astype("timedelta64[D]")).astype(str),
        },
        schema_overrides={
            "first": pl.String,
            "last": pl.String,
            "user": pl.String,
            "street": pl.String,
            "city": pl.String,
            "postal_code": pl.String,
            "domain": pl.String,
        },
    )


# ---------------------------------------------------------------- clickstream
def render_clicks(world, d: date, s: dict) -> list[FileOut]:
    day0 = int((d - date(1970, 1, 1)).days) * 86_400_000
    n_e = len(s["ev_sess"])
    sess = s["ev_sess"]
    sku = sku_strings(world)
    ch = s["s_ch"][sess]
    first = s["ev_pos"] == 0
    mkt = s["s_mkt"][sess]
    lang = np.array([m[2] for m in ref.MARKETS])[mkt]
    camp = s["s_campaign"][sess]
    camp_ids = world.campaigns["campaign_id"].to_numpy()
    utm_src = np.array([ref.UTM[c][0] or "" for c in ref.CHANNELS], dtype=object)[ch]
    utm_src = np.where(ch == ref.CH["affiliate"], np.array(ref.AFFILIATES, dtype=object)[s["s_partner"][sess]], utm_src)
    utm_med = np.array([ref.UTM[c][1] or "" for c in ref.CHANNELS], dtype=object)[ch]
    ref_pick = hash_uniform(world.seed, s["s_anon"][sess], 3)
    referrer = np.full(n_e, "", dtype=object)
    for c, urls in ref.REFERRERS.items():
        sel = first & (ch == ref.CH[c])
        referrer[sel] = np.array(urls, dtype=object)[(ref_pick[sel] * len(urls)).astype(np.int64)]
    sel = first & (ch == ref.CH["affiliate"])
    partner_site = np.array(
        [f"https://www.{a.removeprefix('aff_')}.example.com/" for a in ref.AFFILIATES], dtype=object
    )
    referrer[sel] = partner_site[s["s_partner"][sess][sel]]
    click_kind = np.full(n_e, "", dtype=object)
    for c, param in ref.CLICK_ID.items():
        click_kind[first & (ch == ref.CH[c])] = param
    name = s["ev_name"]
    sku_s = np.where(s["ev_sku"] >= 0, sku[np.maximum(s["ev_sku"], 0)], "")
    cat = np.array(ref.CATEGORY_NAMES)[world.sku_category[np.maximum(s["ev_sku"], 0)]]
    page = np.select(
        [name == 0, name == 1, name == 2, name == 3, name == 4],
        [
            np.char.add(np.char.add("/", lang), "/"),
            np.full(n_e, "/search"),
            np.char.add(np.char.add(np.char.add("/", lang), "/p/"), sku_s.astype(str)),
            np.full(n_e, "/cart"),
            np.full(n_e, "/checkout"),
        ],
        "/checkout/confirmation",
    )
    landing_product = first & np.isin(ch, [ref.CH["google_shopping"], ref.CH["marketplace_ads"]])
    page = np.where(landing_product, np.char.add(np.char.add(np.char.add("/", lang), "/c/"), cat), page)
    ev_ids = hex_ids(s["ev_first_id"] + np.arange(n_e), world.seed ^ 0xE7E7, 16)
    anon = hex_ids(s["s_anon"], world.seed ^ 0xA11, 16)[sess]
    sess_ids = hex_ids(s["s_id"], world.seed ^ 0x5E55, 12)[sess]
    click_id = hex_ids(s["s_id"], world.seed ^ 0xC1C, 16)[sess]
    order_idx = s["s_order"][sess]
    total = s["s_total"][sess]
    dec = world.market_decimals[mkt]
    ccy = np.array(ref.CURRENCY_CODES)[world.market_currency[mkt]]
    search = np.array(SEARCH_TERMS)[(hash_uniform(world.seed, sess, 9) * len(SEARCH_TERMS)).astype(np.int64)]
    df = pl.DataFrame(
        {
            "event_id": ev_ids,
            "event_name": np.array(EVENT_NAMES)[name],
            "ts": s["ev_ts"],
            "anon": anon,
            "user": s["ev_user"],
            "session_id": sess_ids,
            "page": page,
            "referrer": referrer,
            "utm_source": np.where(first, utm_src, ""),
            "utm_medium": np.where(first, utm_med, ""),
            "utm_campaign": np.where(first & (camp >= 0), camp_ids[np.maximum(camp, 0)], ""),
            "click_kind": click_kind,
            "click_id": click_id,
            "device": np.array(DEVICES)[s["s_dev"][sess]],
            "country": np.array(ref.MARKET_CODES)[mkt],
            "language": lang,
            "sku": np.where((name >= 2), sku_s, ""),
            "search": np.where(name == 1, search, ""),
            "order_idx": np.where(name == 5, order_idx, -1),
            "total": total,
            "dec": dec,
            "currency": ccy,
        },
        schema_overrides={
            "referrer": pl.String,
            "utm_source": pl.String,
            "utm_medium": pl.String,
            "click_kind": pl.String,
        },
    )

    def nz(c: str) -> pl.Expr:
        return pl.when(pl.col(c) != "").then(pl.col(c))

    is_purchase = pl.col("order_idx") >= 0
    platform = (
        pl.when(pl.col("device") == "desktop")
        .then(pl.lit("web"))
        .otherwise(pl.when(pl.col("anon").str.slice(0, 1) < "8").then(pl.lit("web")).otherwise(pl.lit("app")))
    )
    line = pl.concat_str(
        [
            pl.lit("{"),
            _q("event_id", pl.col("event_id"), first=True),
            _q("event_name", pl.col("event_name")),
            _q("event_ts", _ts_utc(pl.col("ts"))),
            _q("anonymous_id", pl.col("anon")),
            _q("user_id", pl.when(pl.col("user") >= 0).then(customer_ids(pl.col("user")))),
            _q("session_id", pl.col("session_id")),
            _q("page", pl.col("page")),
            _q("referrer", nz("referrer")),
            _q("utm_source", nz("utm_source")),
            _q("utm_medium", nz("utm_medium")),
            _q("utm_campaign", nz("utm_campaign")),
            pl.when(pl.col("click_kind") != "").then(
                pl.lit(',"') + pl.col("click_kind") + pl.lit('":"') + pl.col("click_id") + pl.lit('"')
            ),
            _q("device", pl.col("device")),
            _q("platform", platform),
            _q("country", pl.col("country")),
            _q("language", pl.col("language")),
            _q("product_id", nz("sku")),
            _q("search_term", nz("search")),
            _q("order_id", pl.when(is_purchase).then(order_ids(pl.col("order_idx")))),
            pl.when(is_purchase).then(
                pl.lit(',"value":')
                + _money(pl.col("total"), pl.col("dec"))
                + pl.lit(',"currency":"')
                + pl.col("currency")
                + pl.lit('"')
            ),
            pl.lit("}"),
        ],
        ignore_nulls=True,
    )
    out = df.select(line.alias("line"), pl.col("event_id"), pl.col("ts")).sort("ts", maintain_order=True)
    hours = _hourly(out["ts"].to_numpy(), day0)
    lines = out["line"].to_list()
    keys = out["event_id"].to_list()
    return _hourly_files("clicks", "events-{stamp}T{hr:02d}.ndjson.gz", d, hours, lines, keys, arrival_lag=1)


RECORD_DEFECTS = (
    "duplicate_record",
    "malformed_json",
    "missing_field",
    "wrong_type",
    "future_timestamp",
    "bad_amount",
    "unknown_currency",
)


def _hourly_files(
    feed: str, name: str, d: date, hours: np.ndarray, lines: list[str], keys: list[str], arrival_lag: int
) -> list[FileOut]:
    """Split a day's time-sorted NDJSON lines into 24 hourly gzip files (empty files for quiet hours)."""
    cuts = np.searchsorted(hours, np.arange(25))
    stamp = d.strftime("%Y%m%d")
    return [
        FileOut(
            feed=feed,
            path=f"{feed}/dt={d.isoformat()}/hour={hr:02d}/" + name.format(stamp=stamp, hr=hr),
            fmt="ndjson",
            lines=lines[cuts[hr] : cuts[hr + 1]],
            keys=keys[cuts[hr] : cuts[hr + 1]],
            event_date=d,
            arrival=_arrival_hour(d, hr, arrival_lag),
            compress=True,
            defect_kinds=RECORD_DEFECTS,
        )
        for hr in range(24)
    ]


def order_ids(idx: pl.Expr) -> pl.Expr:
    return pl.lit("PO") + (idx + 10_000_000).cast(pl.String)


# ---------------------------------------------------------------- orders
def render_orders(world, d: date, versions: tuple, offsets: np.ndarray) -> list[FileOut]:
    v, items, ships = versions
    day0 = int((d - date(1970, 1, 1)).days) * 86_400_000
    if len(v) == 0:
        lines, keys, hours = [], [], np.zeros(0, dtype=np.int64)
    else:
        v = v.with_row_index("vid")
        sku = pl.Series(sku_strings(world))
        mkt = v["market"].to_numpy()
        dec = world.market_decimals[mkt]
        it = v.select("vid", "order_idx", "market").join(items, on="order_idx").sort("vid", "line_no")
        it_dec = world.market_decimals[it["market"].to_numpy()]
        div = np.where(it_dec == 2, 100.0, 1.0)
        item_struct = (
            pl.DataFrame(
                {
                    "vid": it["vid"],
                    "line_no": it["line_no"],
                    "sku": sku.gather(it["sku"]),
                    "qty": it["qty"],
                    "unit_price": it["unit_price"].to_numpy() / div,
                    "discount": it["discount"].to_numpy() / div,
                }
            )
            .group_by("vid", maintain_order=True)
            .agg(pl.struct("line_no", "sku", "qty", "unit_price", "discount").alias("items"))
        )
        carrier_names = pl.Series(ref.CARRIER_NAMES)
        sh = v.select("vid", "order_idx", "ts").join(ships, on="order_idx").sort("vid", "shipment")
        sh_struct = (
            sh.filter(pl.col("ts") >= 0)
            .with_columns(
                shipment_id=pl.lit("SHP") + pl.col("shipment").cast(pl.String).str.zfill(10),
                tracking_number=pl.Series(
                    tracking_numbers(sh["carrier"].to_numpy(), sh["tracking"].to_numpy(), world.seed)
                ),
                carrier=carrier_names.gather(sh["carrier"]),
            )
            .group_by("vid", maintain_order=True)
            .agg(pl.struct("shipment_id", "tracking_number", "carrier").alias("shipments"))
        )
        cust = customers_frame(world, v["customer"].to_numpy())
        off = offsets[mkt]
        sign = np.where(off < 0, "-", "+")
        off_s = np.char.add(
            sign,
            np.char.add(
                np.char.zfill((np.abs(off) // 3600).astype(str), 2),
                np.char.add(":", np.char.zfill((np.abs(off) % 3600 // 60).astype(str), 2)),
            ),
        )
        status = v["status"].to_numpy()
        paid_ts = v["paid_ts"].to_numpy()
        ts = v["ts"].to_numpy()
        is_paid = (paid_ts >= 0) & (paid_ts <= ts)
        pay_status = np.where(is_paid, "captured", "pending")
        pay_status = np.where((status == 2) & ~is_paid, "voided", pay_status)
        pay_status = np.where((status == 2) & is_paid, "refunded", pay_status)
        pay_status = np.where(
            status == 6,
            np.where(v["refund"].to_numpy() < v["total"].to_numpy(), "partially_refunded", "refunded"),
            pay_status,
        )
        pay_status = np.where((status == 1) | ((status == 0) & is_paid), "captured", pay_status)
        refund = np.where(
            status == 6, v["refund"].to_numpy(), np.where((status == 2) & is_paid, v["total"].to_numpy(), -1)
        )
        local = pl.from_epoch(pl.col("t") + pl.col("off") * 1000, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S")
        frame = pl.DataFrame(
            {
                "vid": v["vid"],
                "order_idx": v["order_idx"],
                "version": v["version"],
                "status": np.array(ORDER_STATUSES)[status],
                "created": v["created_ts"],
                "t": ts,
                "off": off,
                "off_s": off_s,
                "marketplace": np.array(ref.MARKET_CODES)[mkt],
                "seller_id": world.sellers["seller_id"].to_numpy()[v["seller"].to_numpy()],
                "currency": np.array(ref.CURRENCY_CODES)[world.market_currency[mkt]],
                "dec": dec,
                "subtotal": v["subtotal"],
                "discount": v["discount"],
                "fee": v["shipping_fee"],
                "tax": v["tax"],
                "total": v["total"],
                "refund": refund,
                "method": np.array(world.payment_methods)[v["pay_method"].to_numpy()],
                "pay_status": pay_status,
                "service": np.array(ref.SERVICE_LEVELS)[v["service"].to_numpy()],
            }
        )
        frame = pl.concat([frame, cust.drop("customer_id").with_columns(cid=cust["customer_id"])], how="horizontal")
        frame = frame.join(item_struct, on="vid", how="left").join(sh_struct, on="vid", how="left").sort("vid")
        money = lambda c: _money(pl.col(c), pl.col("dec"))  # noqa: E731
        out = frame.select(
            order_id=order_ids(pl.col("order_idx")),
            version=pl.col("version"),
            status=pl.col("status"),
            created_at=pl.from_epoch(pl.col("created") + pl.col("off") * 1000, time_unit="ms").dt.strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
            + pl.col("off_s"),
            updated_at=local + pl.col("off_s"),
            marketplace=pl.col("marketplace"),
            seller_id=pl.col("seller_id"),
            currency=pl.col("currency"),
            buyer=pl.struct(
                customer_id=customer_ids(pl.col("cid")),
                name=pl.col("first") + pl.lit(" ") + pl.col("last"),
                email=(
                    pl.col("user") + pl.col("num").cast(pl.String) + pl.lit("@") + pl.col("domain")
                ).str.to_lowercase(),
                phone=pl.col("phone"),
                language=pl.col("language"),
                signup_date=pl.col("signup_date"),
                address=pl.struct(
                    line1=pl.col("house").cast(pl.String) + pl.lit(" ") + pl.col("street"),
                    city=pl.col("city"),
                    postal_code=pl.col("postal_code"),
                    country=pl.col("country"),
                ),
            ),
            items=pl.col("items"),
            subtotal=money("subtotal"),
            discount_total=money("discount"),
            shipping_fee=money("fee"),
            tax=money("tax"),
            total=money("total"),
            payment=pl.struct(method=pl.col("method"), status=pl.col("pay_status")),
            service_level=pl.col("service"),
            shipments=pl.col("shipments").fill_null(pl.lit([], dtype=pl.List(sh_struct.schema["shipments"].inner))),
            refund_amount=pl.when(pl.col("refund") >= 0).then(money("refund")),
            ts=pl.col("t"),
        )
        hours = _hourly(out["ts"].to_numpy(), day0)
        keys = out["order_id"].to_list()
        text = out.drop("ts").write_ndjson()
        lines = text.split("\n")[:-1]
    return _hourly_files("orders", "orders-{stamp}T{hr:02d}.jsonl.gz", d, hours, lines, keys, arrival_lag=2)


def tracking_numbers(carrier: np.ndarray, counter: np.ndarray, seed: int) -> np.ndarray:
    out = np.empty(len(carrier), dtype=object)
    for ci, (_name, _ccy, prefix, digits, suffix) in enumerate(ref.CARRIERS):
        sel = carrier == ci
        if sel.any():
            num = permute_digits(counter[sel], digits, seed + ci)
            out[sel] = np.char.add(np.char.add(prefix, np.char.zfill(num.astype(str), digits)), suffix)
    return out.astype(str) if len(out) else np.zeros(0, dtype=str)


# ---------------------------------------------------------------- ad platforms and costs
def render_ads(world, st, d: date, offset: int, ads: dict, sessions: dict, new_orders: pl.DataFrame) -> list[FileOut]:
    c = world.campaigns
    rows = ads["rows"]
    arr = _arrival_daily(d, 3)
    files = []
    stamp = d.isoformat()
    kinds = ("duplicate_record", "missing_field", "wrong_type", "bad_amount", "unknown_currency")
    plat = np.array([ref.PLATFORM_OF[ref.PAID_CHANNELS[ch]] for ch in world.campaign_channel])
    ch_names = np.array([ref.PAID_CHANNELS[ch] for ch in world.campaign_channel])
    base = pl.DataFrame(
        {
            "i": np.arange(len(c)),
            "campaign_id": c["campaign_id"],
            "campaign_name": c["campaign_name"],
            "account_id": c["account_id"],
            "currency": c["account_currency"],
            "platform": plat,
            "channel": ch_names,
            "impressions": ads["impressions"],
            "clicks": ads["clicks"],
            "spend": ads["spend"],
            "conversions": ads["conversions"],
        }
    )[rows]
    # Google Ads: report title + date line, cost in micros, "Campaign ID" headers
    g = base.filter(pl.col("platform") == "google_ads")
    g_lines = g.select(
        pl.concat_str(
            [
                pl.lit(stamp),
                pl.col("account_id"),
                pl.col("campaign_id"),
                pl.col("campaign_name"),
                pl.when(pl.col("channel") == "google_search").then(pl.lit("Search")).otherwise(pl.lit("Shopping")),
                pl.col("currency"),
                pl.col("impressions").cast(pl.String),
                pl.col("clicks").cast(pl.String),
                (pl.col("spend") * 1_000_000).round(0).cast(pl.Int64).cast(pl.String),
                pl.col("conversions").round(2).cast(pl.String),
            ],
            separator=",",
        )
    )[:, 0].to_list()
    files.append(
        FileOut(
            feed="ad_spend",
            path=f"ad_spend/platform=google_ads/dt={stamp}/campaign_performance_{stamp}.csv",
            fmt="csv",
            header=[
                "Campaign performance report",
                f"{d.strftime('%B')} {d.day}, {d.year} - {d.strftime('%B')} {d.day}, {d.year}".replace(",", ""),
                "Day,Customer ID,Campaign ID,Campaign,Campaign type,Currency code,Impressions,Clicks,Cost (micros),"
                "Conversions",
            ],
            lines=g_lines,
            keys=g["campaign_id"].to_list(),
            event_date=d,
            arrival=arr,
            defect_kinds=kinds,
            roles={"key": 2, "currency": 5, "count": 7, "amount": 8, "amount_in_micros": 1},
        )
    )
    # Meta: decimal spend, date_start/date_stop, account currency
    m = base.filter(pl.col("platform") == "meta")
    reach = (m["impressions"].to_numpy() * 0.72).astype(np.int64)
    m_lines = (
        m.with_columns(reach=pl.Series(reach))
        .select(
            pl.concat_str(
                [
                    pl.col("account_id"),
                    pl.col("currency"),
                    pl.col("campaign_id"),
                    pl.col("campaign_name"),
                    pl.lit(stamp),
                    pl.lit(stamp),
                    pl.col("impressions").cast(pl.String),
                    pl.col("reach").cast(pl.String),
                    pl.col("clicks").cast(pl.String),
                    pl.col("spend").map_batches(_fixed2),
                ],
                separator=",",
            )
        )[:, 0]
        .to_list()
    )
    files.append(
        FileOut(
            feed="ad_spend",
            path=f"ad_spend/platform=meta/dt={stamp}/meta_ads_insights_{stamp}.csv",
            fmt="csv",
            header=[
                "account_id,account_currency,campaign_id,campaign_name,date_start,date_stop,impressions,reach,"
                "inline_link_clicks,spend"
            ],
            lines=m_lines,
            keys=m["campaign_id"].to_list(),
            event_date=d,
            arrival=arr,
            defect_kinds=kinds,
            roles={"key": 2, "currency": 1, "count": 8, "amount": 9},
        )
    )
    # TikTok: stat_time_day with a time part, ctr as a percentage; gains a column at the additive drift
    t = base.filter(pl.col("platform") == "tiktok")
    drift = offset >= world.drift_additive_day
    cols = [
        pl.lit(f"{stamp} 00:00:00"),
        pl.col("account_id"),
        pl.col("campaign_id"),
        pl.col("campaign_name"),
        pl.col("currency"),
        pl.col("spend").map_batches(_fixed2),
        pl.col("impressions").cast(pl.String),
        pl.col("clicks").cast(pl.String),
        pl.when(pl.col("clicks") > 0).then(pl.col("spend") / pl.col("clicks")).otherwise(0.0).map_batches(_fixed2),
        (
            pl.when(pl.col("impressions") > 0)
            .then(pl.col("clicks") / pl.col("impressions") * 100)
            .otherwise(0.0)
            .map_batches(_fixed2)
            + pl.lit("%")
        ),
    ]
    header = "stat_time_day,advertiser_id,campaign_id,campaign_name,currency,spend,impressions,clicks,cpc,ctr"
    if drift:
        cols.append(pl.col("conversions").round(0).cast(pl.Int64).cast(pl.String))
        header += ",conversion"
    t_lines = t.select(pl.concat_str(cols, separator=","))[:, 0].to_list()
    files.append(
        FileOut(
            feed="ad_spend",
            path=f"ad_spend/platform=tiktok/dt={stamp}/tiktok_campaign_daily_{stamp}.csv",
            fmt="csv",
            header=[header],
            lines=t_lines,
            keys=t["campaign_id"].to_list(),
            event_date=d,
            arrival=arr,
            defect_kinds=kinds,
            roles={"key": 2, "currency": 4, "amount": 5, "count": 7},
        )
    )
    # Marketplace ads: semicolon-delimited, dd.mm.yyyy dates, decimal comma
    a = base.filter(pl.col("platform") == "marketplace_ads")
    a_lines = a.select(
        pl.concat_str(
            [
                pl.lit(d.strftime("%d.%m.%Y")),
                pl.col("account_id"),
                pl.col("campaign_id"),
                pl.col("campaign_name"),
                pl.col("impressions").cast(pl.String),
                pl.col("clicks").cast(pl.String),
                pl.col("spend").map_batches(_fixed2).str.replace(".", ",", literal=True),
                pl.col("currency"),
            ],
            separator=";",
        )
    )[:, 0].to_list()
    files.append(
        FileOut(
            feed="ad_spend",
            path=f"ad_spend/platform=marketplace_ads/dt={stamp}/sponsored_products_{d.strftime('%Y%m%d')}.csv",
            fmt="csv",
            header=["Date;Advertiser Id;Campaign Id;Campaign Name;Impressions;Clicks;Spend;Currency"],
            lines=a_lines,
            keys=a["campaign_id"].to_list(),
            event_date=d,
            arrival=arr,
            delimiter=";",
            defect_kinds=kinds,
            roles={"key": 2, "count": 5, "amount": 6, "currency": 7},
        )
    )
    # other marketing costs: affiliate commission per attributed order, monthly email tool fee
    o = new_orders.filter((pl.col("touch") == ref.CH["affiliate"]) & (pl.col("cancelled_ts") < 0))
    o_dec = world.market_decimals[o["market"].to_numpy()]
    commission = np.round((o["subtotal"] - o["discount"]).to_numpy() * ref.AFFILIATE_COMMISSION).astype(np.int64)
    cost = pl.DataFrame(
        {
            "order_idx": o["order_idx"],
            "partner": np.array(ref.AFFILIATES)[o["partner"].to_numpy()],
            "amount": commission,
            "dec": o_dec,
            "currency": np.array(ref.CURRENCY_CODES)[world.market_currency[o["market"].to_numpy()]],
        }
    )
    lines = cost.select(
        pl.concat_str(
            [
                pl.lit(stamp),
                pl.lit("affiliate_commission"),
                pl.lit("affiliate"),
                pl.col("partner"),
                order_ids(pl.col("order_idx")),
                _money(pl.col("amount"), pl.col("dec")),
                pl.col("currency"),
            ],
            separator=",",
        )
    )[:, 0].to_list()
    keys = cost.select(order_ids(pl.col("order_idx")))[:, 0].to_list()
    if d.day == 1:
        fee = {"tiny": "299.00", "demo": "1490.00", "bench": "8900.00"}[world.scale.name]
        lines.append(f"{stamp},email_tool_fee,email,mailwave,,{fee},USD")
        keys.append("email_tool_fee")
    files.append(
        FileOut(
            feed="marketing_costs",
            path=f"marketing_costs/dt={stamp}/costs_{d.strftime('%Y%m%d')}.csv",
            fmt="csv",
            header=["date,cost_type,channel,partner_id,order_id,amount,currency"],
            lines=lines,
            keys=keys,
            event_date=d,
            arrival=arr,
            defect_kinds=("duplicate_record", "bad_amount", "unknown_currency"),
            roles={"key": 4, "amount": 5, "currency": 6},
        )
    )
    return files


def _fixed2(s: pl.Series) -> pl.Series:
    cents = (s * 100).round(0).cast(pl.Int64)
    a = cents.abs()
    txt = (a // 100).cast(pl.String) + "." + (a % 100).cast(pl.String).str.zfill(2)
    return pl.select(pl.when(cents < 0).then(pl.lit("-") + txt).otherwise(txt)).to_series()


# ---------------------------------------------------------------- inventory
def render_inventory(world, st, d: date) -> list[FileOut]:
    files = []
    sku = sku_strings(world)
    sellers = world.sellers["seller_id"].to_numpy()
    arr = _arrival_daily(d, 4)
    for w, (code, _city, _country, _kind) in enumerate(ref.WAREHOUSES):
        idx = np.flatnonzero(world.stocked[:, w])
        eta = st.inbound_eta[idx, w]
        eta_s = np.where(
            eta >= 0, (np.datetime64(world.start.isoformat()) + eta.astype("timedelta64[D]")).astype(str), ""
        )
        df = pl.DataFrame(
            {
                "sku": sku[idx],
                "seller": sellers[world.sku_seller[idx]],
                "oh": st.on_hand[idx, w],
                "res": st.reserved[idx, w],
                "inb": st.inbound[idx, w],
                "eta": eta_s,
            }
        )
        lines = df.select(
            pl.concat_str(
                [
                    pl.lit(f"{d.isoformat()} 23:59:59"),
                    pl.lit(code),
                    pl.col("sku"),
                    pl.col("seller"),
                    pl.col("oh").cast(pl.String),
                    pl.col("res").cast(pl.String),
                    (pl.col("oh") - pl.col("res")).clip(lower_bound=0).cast(pl.String),
                    pl.col("inb").cast(pl.String),
                    pl.col("eta"),
                ],
                separator=",",
            )
        )[:, 0].to_list()
        files.append(
            FileOut(
                feed="inventory",
                path=f"inventory/dt={d.isoformat()}/inventory_{code}_{d.strftime('%Y%m%d')}.csv",
                fmt="csv",
                header=[
                    "SNAPSHOT_TS,WAREHOUSE_CODE,SKU,SELLER_ID,QTY_ON_HAND,QTY_RESERVED,QTY_AVAILABLE,QTY_INBOUND,"
                    "INBOUND_ETA"
                ],
                lines=lines,
                keys=df["sku"].to_list(),
                event_date=d,
                arrival=arr,
                defect_kinds=("duplicate_record", "missing_field", "wrong_type", "bad_amount"),
                roles={"key": 2, "count": 4, "amount": 4},
            )
        )
    return files


# ---------------------------------------------------------------- logistics
def render_logistics(world, d: date, offset: int, manifest: dict, tracking: pl.DataFrame) -> list[FileOut]:
    files = []
    stamp = d.strftime("%Y%m%d")
    arr = _arrival_daily(d, 5)
    header = [
        "shipment_id,tracking_number,carrier,service_level,origin_warehouse,destination_country,weight_kg,"
        "freight_cost,currency,ship_date,promised_delivery_date,order_ids"
    ]
    lines: list[str] = []
    keys: list[str] = []
    if manifest["n"]:
        start = np.datetime64(world.start.isoformat())
        promised = (start + manifest["promised_day"].astype("timedelta64[D]")).astype(str)
        order_lists = ["|".join(f"PO{o + 10_000_000}" for o in os) for os in manifest["orders"]]
        tn = tracking_numbers(manifest["carrier"], manifest["tracking"], world.seed)
        df = pl.DataFrame(
            {
                "sid": manifest["shipment"],
                "tn": tn,
                "carrier": np.array(ref.CARRIER_NAMES)[manifest["carrier"]],
                "svc": np.array(ref.SERVICE_LEVELS)[manifest["service"]],
                "wh": np.array([w[0] for w in ref.WAREHOUSES])[manifest["wh"]],
                "dest": np.array(ref.MARKET_CODES)[manifest["mkt"]],
                "weight": manifest["weight"],
                "freight": manifest["freight"],
                "ccy": manifest["currency"],
                "promised": promised,
                "orders": order_lists,
            }
        )
        lines = df.select(
            pl.concat_str(
                [
                    pl.lit("SHP") + pl.col("sid").cast(pl.String).str.zfill(10),
                    pl.col("tn"),
                    pl.col("carrier"),
                    pl.col("svc"),
                    pl.col("wh"),
                    pl.col("dest"),
                    pl.col("weight").round(3).cast(pl.String),
                    pl.col("freight").map_batches(_fixed2),
                    pl.col("ccy"),
                    pl.lit(d.isoformat()),
                    pl.col("promised"),
                    pl.col("orders"),
                ],
                separator=",",
            )
        )[:, 0].to_list()
        keys = df["tn"].to_list()
    files.append(
        FileOut(
            feed="shipment_manifest",
            path=f"logistics/manifests/dt={d.isoformat()}/manifest_{stamp}.csv",
            fmt="csv",
            header=header,
            lines=lines,
            keys=keys,
            event_date=d,
            arrival=arr,
            defect_kinds=("duplicate_record", "missing_field", "bad_amount", "unknown_currency"),
            roles={"key": 1, "count": 6, "amount": 7, "currency": 8},
        )
    )
    if len(tracking):
        tn = tracking_numbers(tracking["carrier"].to_numpy(), tracking["tracking"].to_numpy(), world.seed)
        loc = tracking["loc"].to_numpy()
        cities = np.array([w[1] for w in ref.WAREHOUSES] + [m[10] for m in ref.MARKETS])
        countries = np.array([w[2] for w in ref.WAREHOUSES] + ref.MARKET_CODES)
        code = np.array(ref.TRACKING_EVENTS)[tracking["code"].to_numpy()]
        day0 = int((d - date(1970, 1, 1)).days) * 86_400_000
        batch = (tracking["ts"].to_numpy() - day0) // (12 * 3_600_000)
        ev = pl.DataFrame(
            {
                "tracking_number": tn,
                "carrier": np.array(ref.CARRIER_NAMES)[tracking["carrier"].to_numpy()],
                "event_code": code,
                "ts": tracking["ts"],
                "city": cities[loc],
                "country": countries[loc],
                "description": np.array([ref.TRACKING_TEXT[c] for c in ref.TRACKING_EVENTS])[
                    tracking["code"].to_numpy()
                ],
                "batch": batch,
            }
        )
        for (carrier, b), part in sorted(ev.group_by("carrier", "batch"), key=lambda kv: (kv[0][0], kv[0][1])):
            breaking = carrier == "yunexpress" and offset >= world.drift_breaking_day
            ts_key = "event_timestamp" if breaking else "event_time"
            body = part.select(
                pl.concat_str(
                    [
                        _q("tracking_number", pl.col("tracking_number"), first=True),
                        _q("carrier", pl.col("carrier")),
                        _q("event_code", pl.col("event_code")),
                        _q(ts_key, pl.from_epoch(pl.col("ts"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ")),
                        pl.lit(',"location":{"city":"')
                        + pl.col("city")
                        + pl.lit('","country":"')
                        + pl.col("country")
                        + pl.lit('"}'),
                        _q("description", pl.col("description")),
                    ]
                )
            )[:, 0]
            lines_t = ("{" + body + "}").to_list()
            hh = "00" if b == 0 else "12"
            files.append(
                FileOut(
                    feed="tracking",
                    path=f"logistics/tracking/carrier={carrier}/dt={d.isoformat()}/{carrier}_{stamp}_{hh}00.json",
                    fmt="json_array",
                    lines=lines_t,
                    keys=part["tracking_number"].to_list(),
                    event_date=d,
                    arrival=datetime(d.year, d.month, d.day, tzinfo=UTC)
                    + timedelta(hours=12 * (int(b) + 1), minutes=30),
                    defect_kinds=(
                        "duplicate_record",
                        "missing_field",
                        "wrong_type",
                        "future_timestamp",
                        "orphan_tracking",
                    ),
                )
            )
    return files


# ---------------------------------------------------------------- reference data and FX
def render_fx(world, st, d: date) -> FileOut:
    eur = st.fx[ref.CURRENCY_CODES.index("EUR")]
    lines = []
    for i, c in enumerate(ref.CURRENCY_CODES):
        if c == "EUR":
            continue
        per_eur = st.fx[i] / eur
        digits = 4 if per_eur < 100 else 2
        lines.append(f"EXR.D.{c}.EUR.SP00.A,D,{c},EUR,SP00,A,{d.isoformat()},{per_eur:.{digits}f}")
    return FileOut(
        feed="fx_rates",
        path=f"reference/fx_rates/dt={d.isoformat()}/eurofxref_{d.strftime('%Y%m%d')}.csv",
        fmt="csv",
        header=["KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE"],
        lines=lines,
        event_date=d,
        arrival=datetime(d.year, d.month, d.day, 15, 0, tzinfo=UTC),
    )


def reference_changed(world, offset: int) -> bool:
    if offset == 0:
        return True
    return bool(
        (world.seller_onboard == offset).any()
        or (world.seller_churn == offset).any()
        or (world.seller_dormant == offset).any()
        or (world.campaign_start == offset).any()
    )


def render_reference(world, d: date, offset: int) -> list[FileOut]:
    files = []
    arr = datetime(d.year, d.month, d.day, 0, 30, tzinfo=UTC)
    stamp = d.isoformat()
    if reference_changed(world, offset):
        live = world.seller_onboard <= offset
        status = np.where(
            offset >= world.seller_churn, "churned", np.where(offset >= world.seller_dormant, "dormant", "active")
        )
        since = np.where(
            status == "churned",
            world.seller_churn,
            np.where(status == "dormant", world.seller_dormant, world.seller_onboard),
        )
        start = np.datetime64(world.start.isoformat())
        sellers = world.sellers.with_columns(
            status=pl.Series(status), status_since=pl.Series((start + since.astype("timedelta64[D]")).astype(str))
        ).filter(pl.Series(live))
        files.append(
            FileOut(
                feed="reference",
                path=f"reference/sellers/dt={stamp}/sellers.json",
                fmt="json_array",
                lines=[json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in sellers.to_dicts()],
                event_date=d,
                arrival=arr,
            )
        )
        products = world.products.filter(pl.Series(live[world.sku_seller]))
        text = products.write_csv()
        head, *rows = text.rstrip("\n").split("\n")
        files.append(
            FileOut(
                feed="reference",
                path=f"reference/products/dt={stamp}/products.csv",
                fmt="csv",
                header=[head],
                lines=rows,
                event_date=d,
                arrival=arr,
            )
        )
        cs = world.campaign_seller
        ok = (world.campaign_start <= offset) & ((cs < 0) | live[np.maximum(cs, 0)])
        text = world.campaigns.filter(pl.Series(ok)).write_csv()
        head, *rows = text.rstrip("\n").split("\n")
        files.append(
            FileOut(
                feed="reference",
                path=f"reference/campaigns/dt={stamp}/campaigns.csv",
                fmt="csv",
                header=[head],
                lines=rows,
                event_date=d,
                arrival=arr,
            )
        )
    if offset == 0:
        files.append(
            FileOut(
                feed="reference",
                path=f"reference/markets/dt={stamp}/markets.json",
                fmt="json_array",
                lines=[json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in world.markets.to_dicts()],
                event_date=d,
                arrival=arr,
            )
        )
    if offset == 0 or (d.month == 1 and d.day == 1):
        rows = []
        for y in range(d.year - (1 if offset == 0 else 0), d.year + 2):
            for hd, name, kind, markets, m in ref.holidays(y):
                for mc in markets:
                    rows.append((hd.isoformat(), mc, name, kind, m))
        rows.sort()
        files.append(
            FileOut(
                feed="reference",
                path=f"reference/holidays/dt={stamp}/holidays.csv",
                fmt="csv",
                header=["date,market,holiday,kind,demand_multiplier"],
                lines=[f"{a},{b},{c},{k},{m}" for a, b, c, k, m in rows],
                event_date=d,
                arrival=arr,
            )
        )
    return files


def render_day(
    world,
    st,
    d: date,
    offset: int,
    sessions: dict,
    versions: tuple,
    manifest: dict,
    tracking: pl.DataFrame,
    ads: dict,
    truth: dict,
    new_orders: pl.DataFrame,
) -> list[FileOut]:
    from simulator.engine import _utc_offsets

    offsets = _utc_offsets(world, d)
    files = []
    files += render_orders(world, d, versions, offsets)
    files += render_clicks(world, d, sessions)
    files += render_ads(world, st, d, offset, ads, sessions, new_orders)
    files += render_inventory(world, st, d)
    files += render_logistics(world, d, offset, manifest, tracking)
    files += render_reference(world, d, offset)
    files.append(render_fx(world, st, d))
    truth["clicks"] = {
        "events": len(sessions["ev_sess"]),
        "sessions": int(sessions["n_sessions"]),
        "purchases": int((sessions["ev_name"] == 5).sum()),
        "ad_sessions": int((sessions["s_campaign"] >= 0).sum()),
    }
    truth["files"] = {}
    for f in files:
        t = truth["files"].setdefault(f.feed, {"files": 0, "records": 0})
        t["files"] += 1
        t["records"] += len(f.lines)
    return files
