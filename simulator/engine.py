"""One simulated day: demand, orders, journeys and clickstream, shipping, tracking, inventory, ads, FX.

Each day is a pure function of (world, state before the day, seed, date): its random numbers come from
generators keyed by (seed, date, stream), and everything that spans days (open orders, pending tracking
events, inventory, browsing users, counters) lives in :class:`State`, which is pickled between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from simulator import reference as ref
from simulator.render import FileOut, render_day
from simulator.rng import day_rng, hash_uniform
from simulator.world import World

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
P_POOL = 0.4  # share of converters whose journey started in an earlier session
POOL_DAYS = 7
STAGES = ("bounce", "browse", "cart", "checkout", "purchase")
# local-time shape of shopping activity (hour 0..23)
DIURNAL = np.array([2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 7, 6, 6, 6, 7, 8, 9, 10, 10, 8, 5], dtype=float)
DOW = np.array([0.96, 0.94, 0.95, 0.99, 1.04, 1.1, 1.02])
ORDER_TS_COLS = ["created_ts", "paid_ts", "cancelled_ts", "shipped_ts", "delivered_ts", "returned_ts", "refunded_ts"]


def epoch_ms(d: date) -> int:
    return (d - date(1970, 1, 1)).days * DAY_MS


@dataclass
class State:
    day: int  # offset (from the world start) of the next day to generate
    counters: dict[str, int]
    fx: np.ndarray  # units per USD, indexed like reference.CURRENCY_CODES
    on_hand: np.ndarray
    reserved: np.ndarray
    inbound: np.ndarray
    inbound_eta: np.ndarray
    rop: np.ndarray
    order_qty: np.ndarray
    orders: pl.DataFrame
    items: pl.DataFrame
    order_shipments: pl.DataFrame
    tracking: pl.DataFrame
    pool: pl.DataFrame
    zero_days: np.ndarray
    active_days: np.ndarray
    channel_stats: np.ndarray  # [n_channels, 3]: acquired users, converted users, caused orders
    lane_stats: np.ndarray  # [n_wh, n_mkt, 2]: delivered shipments, delivered on time
    extra: dict = field(default_factory=dict)


def _empty_orders() -> pl.DataFrame:
    cols = {
        "order_idx": pl.Int64,
        "seller": pl.Int64,
        "market": pl.Int64,
        "customer": pl.Int64,
        **{c: pl.Int64 for c in ORDER_TS_COLS},
        "ship_day": pl.Int64,
        "pay_method": pl.Int64,
        "service": pl.Int64,
        "touch": pl.Int64,
        "partner": pl.Int64,
        "subtotal": pl.Int64,
        "discount": pl.Int64,
        "shipping_fee": pl.Int64,
        "tax": pl.Int64,
        "total": pl.Int64,
        "refund": pl.Int64,
    }
    return pl.DataFrame(schema=cols)


def initial_state(world: World) -> State:
    rng = np.random.default_rng(np.random.SeedSequence(world.seed, spawn_key=(0, 99)))
    n_wh = len(ref.WAREHOUSES)
    dem = np.zeros((world.n_sku, n_wh))
    for w in range(n_wh):
        dem[:, w] = np.where(world.fulfil_wh == w, world.base_demand, 0).sum(1)
    lead = np.where(np.arange(n_wh) < 3, 7.0, 30.0)[None, :]
    risk = rng.uniform(0.45, 1.5, dem.shape)
    rop = np.where(world.stocked, np.ceil(dem * lead * risk) + 1, 0).astype(np.int64)
    qty = np.where(world.stocked, np.maximum(3, np.ceil(dem * rng.uniform(20, 45, dem.shape))), 0).astype(np.int64)
    on_hand = np.where(world.stocked, np.ceil(dem * rng.uniform(15, 50, dem.shape)) + rng.integers(1, 4, dem.shape), 0)
    fx = np.array([ref.CURRENCIES[c][0] for c in ref.CURRENCY_CODES])
    return State(
        day=0,
        counters={"order": 0, "shipment": 0, "session": 0, "anon": 0, "event": 0, "tracking": 0},
        fx=fx,
        on_hand=on_hand.astype(np.int64),
        reserved=np.zeros_like(on_hand, dtype=np.int64),
        inbound=np.zeros_like(on_hand, dtype=np.int64),
        inbound_eta=np.full(on_hand.shape, -1, dtype=np.int64),
        rop=rop,
        order_qty=qty,
        orders=_empty_orders(),
        items=pl.DataFrame(
            schema={
                "order_idx": pl.Int64,
                "line_no": pl.Int64,
                "sku": pl.Int64,
                "qty": pl.Int64,
                "unit_price": pl.Int64,
                "discount": pl.Int64,
                "wh": pl.Int64,
            }
        ),
        order_shipments=pl.DataFrame(
            schema={"order_idx": pl.Int64, "shipment": pl.Int64, "carrier": pl.Int64, "tracking": pl.Int64}
        ),
        tracking=pl.DataFrame(
            schema={
                "shipment": pl.Int64,
                "carrier": pl.Int64,
                "tracking": pl.Int64,
                "code": pl.Int64,
                "ts": pl.Int64,
                "loc": pl.Int64,
            }
        ),
        pool=pl.DataFrame(
            schema={"anon": pl.Int64, "market": pl.Int64, "channel": pl.Int64, "day": pl.Int64, "device": pl.Int64}
        ),
        zero_days=np.zeros((world.n_sku, world.n_mkt), dtype=np.int32),
        active_days=np.zeros((world.n_sku, world.n_mkt), dtype=np.int32),
        channel_stats=np.zeros((len(ref.CHANNELS), 3), dtype=np.int64),
        lane_stats=np.zeros((n_wh, world.n_mkt, 2), dtype=np.int64),
    )


def _group_start_index(keys_sorted: np.ndarray) -> np.ndarray:
    n = len(keys_sorted)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = keys_sorted[1:] != keys_sorted[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def _choice_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a [n, k] weight matrix."""
    cw = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cw[:, -1]
    return (cw < u[:, None]).sum(1)


def _utc_offsets(world: World, d: date) -> np.ndarray:
    noon = datetime(d.year, d.month, d.day, 12, tzinfo=UTC)
    return np.array([int(noon.astimezone(tz).utcoffset().total_seconds()) for tz in world.market_tz])


def _times_in_day(rng: np.random.Generator, markets: np.ndarray, offsets: np.ndarray, day0: int) -> np.ndarray:
    """UTC epoch ms within the day, following each market's local shopping rhythm."""
    hours = np.arange(24)
    local = (hours[None, :] + offsets[:, None] // 3600) % 24
    w = DIURNAL[local]  # [n_mkt, 24] weight of each UTC hour
    h = _choice_rows(rng, w[markets]) if len(markets) else np.zeros(0, dtype=np.int64)
    return day0 + h * HOUR_MS + rng.integers(0, HOUR_MS, len(markets))


def _calendar(world: World, d: date) -> tuple[np.ndarray, bool, bool]:
    """Demand multiplier per market, whether Chinese New Year slows origin handling, whether peak season."""
    mult = np.ones(world.n_mkt)
    cny = False
    for hd, _name, kind, markets, m in ref.holidays(d.year):
        if hd != d:
            continue
        if kind == "origin_slowdown":
            cny = True
            continue
        for mc in markets:
            mult[ref.MARKET_CODES.index(mc)] *= m
    peak = (d.month == 11 and d.day >= 20) or d.month == 12
    return mult, cny, peak


def seller_factor(world: World, offset: int, d: date) -> np.ndarray:
    ids = np.arange(len(world.seller_onboard))
    active = (offset >= world.seller_onboard) & (offset < world.seller_churn)
    f = np.where(active, 1.0, 0.0)
    f = np.where(offset >= world.seller_dormant, f * 0.05, f)
    promo = hash_uniform(world.seed, ids, d.toordinal() // 7) < 0.12
    return f * np.where(promo, 1.5, 1.0), promo


def simulate_day(world: World, st: State) -> tuple[list[FileOut], dict, pl.DataFrame]:
    """Advance the world by one day; returns the day's files, true totals and lost-demand rows."""
    offset = st.day
    d = world.day_of(offset)
    day0 = epoch_ms(d)
    day1 = day0 + DAY_MS
    n_mkt, n_wh = world.n_mkt, len(ref.WAREHOUSES)
    offsets = _utc_offsets(world, d)
    truth: dict = {"date": d.isoformat()}

    # ---- FX: random walk around realistic levels
    rng = day_rng(world.seed, d, "fx")
    vol = np.array([ref.CURRENCIES[c][1] for c in ref.CURRENCY_CODES])
    drift = np.array([ref.CURRENCIES[c][2] for c in ref.CURRENCY_CODES])
    level = np.array([ref.CURRENCIES[c][0] for c in ref.CURRENCY_CODES])
    z = rng.normal(0, 1, len(vol))
    st.fx = st.fx * np.exp(drift + vol * z - 0.01 * np.log(st.fx / (level * np.exp(drift * offset))))

    # ---- inventory arrivals
    arrived = st.inbound_eta == offset
    st.on_hand += np.where(arrived, st.inbound, 0)
    st.inbound[arrived] = 0
    st.inbound_eta[arrived] = -1

    # ---- demand (negative binomial per SKU x market), limited by stock
    rng = day_rng(world.seed, d, "demand")
    mult, cny, peak = _calendar(world, d)
    sf, promo = seller_factor(world, offset, d)
    trend = 1.0 + world.category_trend * (offset / 365.0)
    lam = world.base_demand * (sf[world.sku_seller] * trend[world.sku_category] * DOW[d.weekday()])[:, None]
    lam = lam * mult[None, :]
    live = lam > 0
    k = np.broadcast_to(world.dispersion[:, None], lam.shape)[live]
    demand = np.zeros(lam.shape, dtype=np.int64)
    demand[live] = rng.poisson(rng.gamma(k, lam[live] / k))
    st.active_days += live
    st.zero_days += live & (demand == 0)
    si, mi = np.nonzero(demand)
    dq = demand[si, mi]
    wi = world.fulfil_wh[si, mi]
    key = si * n_wh + wi
    order = np.lexsort((rng.random(len(key)), key))
    si, mi, dq, wi, key = si[order], mi[order], dq[order], wi[order], key[order]
    cum = np.cumsum(dq)
    before = cum - dq
    before = before - before[_group_start_index(key)]
    avail = (st.on_hand - st.reserved).ravel()[key]
    filled = np.clip(avail - before, 0, dq)
    lost = dq - filled
    np.add.at(st.reserved.reshape(-1), key, filled)
    lost_rows = pl.DataFrame(
        {
            "date": [d] * int((lost > 0).sum()),
            "sku_idx": si[lost > 0],
            "market_idx": mi[lost > 0],
            "warehouse_idx": wi[lost > 0],
            "lost_units": lost[lost > 0],
        },
        schema={
            "date": pl.Date,
            "sku_idx": pl.Int64,
            "market_idx": pl.Int64,
            "warehouse_idx": pl.Int64,
            "lost_units": pl.Int64,
        },
    )
    truth["demand"] = {
        "units": int(dq.sum()),
        "fulfilled_units": int(filled.sum()),
        "lost_units": int(lost.sum()),
        "lost_units_by_warehouse": {ref.WAREHOUSES[w][0]: int(lost[wi == w].sum()) for w in range(n_wh)},
    }

    # ---- lines and orders
    rng = day_rng(world.seed, d, "orders")
    unit = np.repeat(np.arange(len(filled)), filled)
    new_line = np.ones(len(unit), dtype=bool)
    new_line[1:] = (unit[1:] != unit[:-1]) | (rng.random(len(unit) - 1) > 0.25)
    line_of_unit = np.cumsum(new_line) - 1
    l_src = unit[new_line]
    l_qty = np.bincount(line_of_unit, minlength=len(l_src)).astype(np.int64)
    l_sku, l_mkt, l_wh = si[l_src], mi[l_src], wi[l_src]
    l_seller = world.sku_seller[l_sku]
    perm = np.lexsort((rng.random(len(l_sku)), l_seller * n_mkt + l_mkt))
    l_sku, l_mkt, l_wh, l_seller, l_qty = l_sku[perm], l_mkt[perm], l_wh[perm], l_seller[perm], l_qty[perm]
    okey = l_seller * n_mkt + l_mkt
    new_order = np.ones(len(l_sku), dtype=bool)
    new_order[1:] = (okey[1:] != okey[:-1]) | (rng.random(len(l_sku) - 1) > 0.2) | (l_sku[1:] == l_sku[:-1])
    l_order = np.cumsum(new_order) - 1
    n_orders = int(new_order.sum())
    l_line_no = np.arange(len(l_sku)) - _group_start_index(l_order) + 1
    o_first = np.flatnonzero(new_order)
    o_seller, o_mkt = l_seller[o_first], l_mkt[o_first]
    o_idx = st.counters["order"] + np.arange(n_orders)
    st.counters["order"] += n_orders

    # customers: a growing base per market; older customers buy more often
    n_cust = world.customer_base[o_mkt] + world.customer_growth[o_mkt] * (offset + 1)
    o_cust = o_mkt * 100_000_000 + np.floor(n_cust * rng.random(n_orders) ** 2).astype(np.int64)
    o_created = _times_in_day(rng, o_mkt, offsets, day0)
    o_pay = np.zeros(n_orders, dtype=np.int64)
    pm_index = {p: i for i, p in enumerate(world.payment_methods)}
    for m in np.unique(o_mkt):
        sel = o_mkt == m
        methods = [pm_index[p] for p in world.market_pay_methods[m]]
        o_pay[sel] = rng.choice(methods, size=int(sel.sum()), p=world.market_pay_weights[m])
    o_service = rng.choice(3, size=n_orders, p=ref.SERVICE_SHARE)
    l_price = world.price_minor[l_sku, l_mkt]
    l_promo = promo[l_seller]
    pct = 0.1 + 0.2 * hash_uniform(world.seed, l_seller, d.toordinal() // 7, 7)
    l_disc = np.where(l_promo, np.round(l_price * pct), 0).astype(np.int64) * l_qty
    subtotal = np.bincount(l_order, l_price * l_qty, n_orders).astype(np.int64)
    discount = np.bincount(l_order, l_disc, n_orders).astype(np.int64)
    dec = world.market_decimals[o_mkt]
    fx_m = st.fx[world.market_currency[o_mkt]]
    scale_minor = np.where(dec == 2, 100, 1)
    fee = np.where(dec == 2, np.ceil(4.99 * fx_m) * 100 - 1, np.ceil(4.99 * fx_m / 10) * 10).astype(np.int64)
    free = (subtotal - discount) >= 30 * fx_m * scale_minor
    ship_fee = np.where(free, 0, fee)
    tax = np.round((subtotal - discount + ship_fee) * world.market_vat[o_mkt]).astype(np.int64)
    total = subtotal - discount + ship_fee + tax

    # payment, cancellation and handling time
    method_names = np.array(world.payment_methods)[o_pay]
    cod = method_names == "cash_on_delivery"
    delayed = np.isin(method_names, list(ref.DELAYED_PAYMENT))
    u = rng.random(n_orders)
    paid = np.where(cod, -1, o_created + rng.integers(2_000, 300_000, n_orders))
    paid = np.where(delayed, o_created + rng.integers(HOUR_MS, 48 * HOUR_MS, n_orders), paid)
    cancelled = np.full(n_orders, -1, dtype=np.int64)
    fail = (~cod & ~delayed & (u < 0.03)) | (cod & (u < 0.02))
    expire = delayed & (u < 0.25)
    cancelled = np.where(fail, o_created + rng.integers(60_000, 1_800_000, n_orders), cancelled)
    cancelled = np.where(expire, o_created + 72 * HOUR_MS, cancelled)
    paid = np.where(fail | expire, -1, paid)
    late_cancel = (~fail & ~expire & ~cod) & (u > 0.98)
    cancelled = np.where(late_cancel, paid + rng.integers(HOUR_MS, 20 * HOUR_MS, n_orders), cancelled)
    from_origin = np.bincount(l_order, l_wh < 3, n_orders) > 0
    ready_day = np.where(paid >= 0, (paid - epoch_ms(world.start)) // DAY_MS, offset)
    handling = 1 + rng.poisson(0.8, n_orders) + np.where(cny & from_origin, 6, 0) + (1 if peak else 0)
    ship_day = np.where(cancelled >= 0, -1, np.maximum(ready_day, offset) + handling)

    # journeys: each order was caused by a channel (planted effect) or would have happened anyway
    rng = day_rng(world.seed, d, "journeys")
    cause_names = list(ref.CAUSE_SHARE)
    cause_p = np.array([1 - sum(ref.CAUSE_SHARE.values()), *ref.CAUSE_SHARE.values()])
    cause_pick = rng.choice(len(cause_p), size=n_orders, p=cause_p)
    cause = np.where(cause_pick == 0, -1, np.array([-1] + [ref.CH[c] for c in cause_names])[cause_pick])
    base_names = list(ref.BASELINE_JOURNEY)
    base_pick = rng.choice(len(base_names), size=n_orders, p=np.array(list(ref.BASELINE_JOURNEY.values())))
    touch = np.where(cause >= 0, cause, np.array([ref.CH[c] for c in base_names])[base_pick])
    partner = rng.integers(0, len(ref.AFFILIATES), n_orders)

    new_orders = pl.DataFrame(
        {
            "order_idx": o_idx,
            "seller": o_seller,
            "market": o_mkt,
            "customer": o_cust,
            "created_ts": o_created,
            "paid_ts": paid,
            "cancelled_ts": cancelled,
            "shipped_ts": np.full(n_orders, -1),
            "delivered_ts": np.full(n_orders, -1),
            "returned_ts": np.full(n_orders, -1),
            "refunded_ts": np.full(n_orders, -1),
            "ship_day": ship_day,
            "pay_method": o_pay,
            "service": o_service,
            "touch": touch,
            "partner": partner,
            "subtotal": subtotal,
            "discount": discount,
            "shipping_fee": ship_fee,
            "tax": tax,
            "total": total,
            "refund": np.zeros(n_orders, dtype=np.int64),
        },
        schema=st.orders.schema,
    )
    new_items = pl.DataFrame(
        {
            "order_idx": o_idx[l_order],
            "line_no": l_line_no,
            "sku": l_sku,
            "qty": l_qty,
            "unit_price": l_price,
            "discount": l_disc,
            "wh": l_wh,
        },
        schema=st.items.schema,
    )
    st.orders = pl.concat([st.orders, new_orders])
    st.items = pl.concat([st.items, new_items])

    # ---- sessions and events
    sessions, journey_truth = _sessions(world, st, d, offset, day0, offsets, new_orders, new_items, cause)
    truth["conversions"] = journey_truth

    # ---- shipping due today, tracking, inventory movements
    ship_truth, manifest, tracking_today = _ship(world, st, d, offset, day0, peak)
    truth["logistics"] = ship_truth

    # ---- order versions due today (and release reservations of cancelled orders)
    versions, order_truth = _order_versions(world, st, day0, day1)
    truth["orders"] = order_truth | {
        "new_orders": n_orders,
        "units": int(l_qty.sum()),
        "gmv_usd": round(float((total / scale_minor / fx_m).sum()), 2),
    }

    # ---- replenishment and inventory snapshot
    rng = day_rng(world.seed, d, "inventory")
    position = st.on_hand - st.reserved + st.inbound
    need = world.stocked & (position <= st.rop) & (st.inbound == 0)
    lead = np.where(np.arange(n_wh) < 3, rng.integers(4, 10, need.shape), rng.integers(20, 41, need.shape))
    st.inbound = np.where(need, st.order_qty, st.inbound)
    st.inbound_eta = np.where(need, offset + lead, st.inbound_eta)
    truth["inventory"] = {
        "stocked_pairs": int(world.stocked.sum()),
        "out_of_stock_pairs": int((world.stocked & (st.on_hand - st.reserved <= 0)).sum()),
        "replenishment_orders": int(need.sum()),
    }

    # ---- ad platforms and other marketing costs
    ads = _ad_reports(world, st, d, offset, sessions)
    truth["ad_spend"] = ads["truth"]

    files = render_day(world, st, d, offset, sessions, versions, manifest, tracking_today, ads, truth, new_orders)
    st.day += 1
    return files, truth, lost_rows


def _pick_campaigns(
    world: World, rng: np.random.Generator, offset: int, channel: np.ndarray, market: np.ndarray
) -> np.ndarray:
    out = np.full(len(channel), -1, dtype=np.int64)
    cs = world.campaign_seller
    seller_ok = (cs < 0) | (
        (offset >= world.seller_onboard[np.maximum(cs, 0)]) & (offset < world.seller_churn[np.maximum(cs, 0)])
    )
    active = (world.campaign_start <= offset) & (offset < world.campaign_end) & seller_ok
    paid_idx = {ref.CH[c]: i for i, c in enumerate(ref.PAID_CHANNELS)}
    for ch_global, ci in paid_idx.items():
        sel_ch = channel == ch_global
        if not sel_ch.any():
            continue
        for m in np.unique(market[sel_ch]):
            rows = np.flatnonzero(sel_ch & (market == m))
            cand = np.flatnonzero(active & (world.campaign_channel == ci) & (world.campaign_market == m))
            w = world.campaign_weight[cand]
            out[rows] = rng.choice(cand, size=len(rows), p=w / w.sum())
    return out


def _sessions(
    world: World,
    st: State,
    d: date,
    offset: int,
    day0: int,
    offsets: np.ndarray,
    orders: pl.DataFrame,
    items: pl.DataFrame,
    cause: np.ndarray,
) -> tuple[dict, dict]:
    rng = day_rng(world.seed, d, "sessions")
    n_mkt, n_ch = world.n_mkt, len(ref.CHANNELS)
    o_mkt = orders["market"].to_numpy()
    touch = orders["touch"].to_numpy()
    n_orders = len(orders)

    # converters: some resume a journey begun by an earlier (pooled) anonymous visitor of the same channel
    pool = st.pool.filter(pl.col("day") >= offset - POOL_DAYS + 1)
    p_anon, p_mkt, p_ch = pool["anon"].to_numpy(), pool["market"].to_numpy(), pool["channel"].to_numpy()
    p_dev = pool["device"].to_numpy()
    p_key = p_mkt * n_ch + p_ch
    p_order = np.lexsort((rng.random(len(p_key)), p_key))
    p_sorted_key = p_key[p_order]
    key_start = np.searchsorted(p_sorted_key, np.arange(n_mkt * n_ch))
    key_count = np.bincount(p_key, minlength=n_mkt * n_ch)
    want = rng.random(n_orders) < P_POOL
    o_key = o_mkt * n_ch + touch
    w_idx = np.flatnonzero(want)
    w_sorted = w_idx[np.argsort(o_key[w_idx], kind="stable")]
    w_rank = np.arange(len(w_sorted)) - _group_start_index(o_key[w_sorted])
    ok = w_rank < key_count[o_key[w_sorted]]
    matched_orders = w_sorted[ok]
    matched_pool = p_order[key_start[o_key[matched_orders]] + w_rank[ok]]
    from_pool = np.zeros(n_orders, dtype=bool)
    from_pool[matched_orders] = True
    c_anon = np.full(n_orders, -1, dtype=np.int64)
    c_anon[matched_orders] = p_anon[matched_pool]
    fresh = ~from_pool
    c_anon[fresh] = st.counters["anon"] + np.arange(int(fresh.sum()))
    st.counters["anon"] += int(fresh.sum())
    c_dev = rng.choice(3, size=n_orders, p=[0.62, 0.32, 0.06])
    c_dev[matched_orders] = p_dev[matched_pool]
    ret_channel = np.where(rng.random(n_orders) < 0.7, ref.CH["direct"], ref.CH["organic_search"])
    c_channel = np.where(from_pool, ret_channel, touch)
    used = np.zeros(len(p_anon), dtype=bool)
    used[matched_pool] = True

    # non-converting visitors: sized so that each channel's conversion rate equals its planted effect
    caused = np.zeros((n_ch, n_mkt))
    np.add.at(caused, (touch[cause >= 0], o_mkt[cause >= 0]), 1)
    base_touch = np.zeros((n_ch, n_mkt))
    np.add.at(base_touch, (touch[cause < 0], o_mkt[cause < 0]), 1)
    expected = np.zeros((n_ch, n_mkt))
    for c, name in enumerate(ref.CHANNELS):
        e = world.effect(name)
        if e > 0:
            expected[c] += caused[c] * ((1 - e) / e + P_POOL)
        expected[c] += base_touch[c] * (ref.BASELINE_BOUNCE.get(name, 0.0) + P_POOL)
    n_nc = rng.poisson(expected)
    nc_ch, nc_mkt = np.nonzero(n_nc)
    reps = n_nc[nc_ch, nc_mkt]
    nc_ch, nc_mkt = np.repeat(nc_ch, reps), np.repeat(nc_mkt, reps)
    n_new = len(nc_ch)
    nc_anon = st.counters["anon"] + np.arange(n_new)
    st.counters["anon"] += n_new
    nc_dev = rng.choice(3, size=n_new, p=[0.62, 0.32, 0.06])
    nc_stage = rng.choice(4, size=n_new, p=[0.35, 0.45, 0.15, 0.05])
    known = rng.random(n_new) < 0.25
    n_cust = world.customer_base[nc_mkt] + world.customer_growth[nc_mkt] * offset
    nc_user = np.where(known, nc_mkt * 100_000_000 + np.floor(n_cust * rng.random(n_new)).astype(np.int64), -1)

    # revisits of pooled visitors who do not buy today
    rv = np.flatnonzero(~used & (rng.random(len(p_anon)) < 0.02))
    n_rv = len(rv)

    # truth: acquisition channel = channel of the visitor's first session
    acq = np.zeros(n_ch, dtype=np.int64)
    np.add.at(acq, touch[fresh], 1)
    np.add.at(acq, nc_ch, 1)
    conv = np.zeros(n_ch, dtype=np.int64)
    np.add.at(conv, touch[fresh], 1)
    np.add.at(conv, p_ch[matched_pool], 1)
    caused_n = np.bincount(touch[cause >= 0], minlength=n_ch)
    st.channel_stats[:, 0] += acq
    st.channel_stats[:, 1] += conv
    st.channel_stats[:, 2] += caused_n
    journey_truth = {
        c: {"acquired_users": int(acq[i]), "converted_users": int(conv[i]), "caused_orders": int(caused_n[i])}
        for i, c in enumerate(ref.CHANNELS)
    }

    # pool update
    keep = ~used
    st.pool = pl.concat(
        [
            pool.filter(pl.Series(keep)),
            pl.DataFrame(
                {"anon": nc_anon, "market": nc_mkt, "channel": nc_ch, "day": np.full(n_new, offset), "device": nc_dev},
                schema=st.pool.schema,
            ),
        ]
    )

    # assemble sessions: converters, new visitors, revisits
    first_line = items.group_by("order_idx", maintain_order=True).agg(pl.col("sku").first())
    o_sku = first_line["sku"].to_numpy()
    s_anon = np.concatenate([c_anon, nc_anon, p_anon[rv]])
    s_mkt = np.concatenate([o_mkt, nc_mkt, p_mkt[rv]])
    s_ch = np.concatenate([c_channel, nc_ch, np.full(n_rv, ref.CH["direct"])])
    s_stage = np.concatenate([np.full(n_orders, 4), nc_stage, rng.choice([1, 2], size=n_rv, p=[0.8, 0.2])])
    s_user = np.concatenate([orders["customer"].to_numpy(), nc_user, np.full(n_rv, -1)])
    s_dev = np.concatenate([c_dev, nc_dev, p_dev[rv]])
    s_order = np.concatenate([orders["order_idx"].to_numpy(), np.full(n_new + n_rv, -1)])
    s_osku = np.concatenate([o_sku, np.full(n_new + n_rv, -1)])
    s_total = np.concatenate([orders["total"].to_numpy(), np.zeros(n_new + n_rv, dtype=np.int64)])
    s_partner = (s_anon % len(ref.AFFILIATES)).astype(np.int64)
    s_partner[:n_orders] = np.where(
        c_channel == ref.CH["affiliate"], orders["partner"].to_numpy(), s_partner[:n_orders]
    )
    n_s = len(s_anon)
    s_campaign = _pick_campaigns(world, rng, offset, s_ch, s_mkt)
    s_campaign[n_orders + n_new :] = -1
    s_id = st.counters["session"] + np.arange(n_s)
    st.counters["session"] += n_s

    n_pv = np.where(s_stage == 0, 0, 1 + rng.poisson(0.9, n_s))
    has_search = (s_stage > 0) & (rng.random(n_s) < 0.3)
    n_ev = 1 + has_search + n_pv + (s_stage >= 2) + (s_stage >= 3) + (s_stage == 4)
    ev_sess = np.repeat(np.arange(n_s), n_ev)
    n_e = len(ev_sess)
    starts = np.cumsum(n_ev) - n_ev
    pos = np.arange(n_e) - starts[ev_sess]
    off = pos - 1 - has_search[ev_sess]
    npv = n_pv[ev_sess]
    name = np.select(
        [pos == 0, off < 0, off < npv, off == npv, off == npv + 1], [0, 1, 2, 3, 4], default=5
    )  # page_view, search, product_view, add_to_cart, begin_checkout, purchase
    gaps = rng.exponential(35_000, n_e).astype(np.int64) + 500
    gaps[starts] = 0
    elapsed = np.cumsum(gaps) - np.cumsum(gaps)[starts][ev_sess]
    dur = elapsed[starts + n_ev - 1]
    conv_s = s_order >= 0
    s_start = _times_in_day(rng, s_mkt, offsets, day0)
    s_start[:n_orders] = orders["created_ts"].to_numpy() - dur[:n_orders]
    s_start = np.clip(s_start, day0, day0 + DAY_MS - 1 - dur)
    ev_ts = s_start[ev_sess] + elapsed
    # products seen: the bought SKU for buyers, otherwise popular SKUs
    pop = np.cumsum(world.base_demand.sum(1))
    rand_sku = np.searchsorted(pop, rng.random(n_e) * pop[-1])
    first_pv = (name == 2) & (off == 0)
    ev_sku = np.where((conv_s[ev_sess]) & (first_pv | (name >= 3)), s_osku[ev_sess], rand_sku)
    ev_sku = np.where((name == 2) | (name >= 3), ev_sku, -1)
    login_pos = np.where(conv_s, 1 + has_search + n_pv, np.where(s_user >= 0, 0, 10**6))
    ev_user = np.where(pos >= login_pos[ev_sess], s_user[ev_sess], -1)
    st.counters["event"] += n_e
    sessions = {
        "n_sessions": n_s,
        "s_id": s_id,
        "s_anon": s_anon,
        "s_mkt": s_mkt,
        "s_ch": s_ch,
        "s_campaign": s_campaign,
        "s_dev": s_dev,
        "s_partner": s_partner,
        "s_stage": s_stage,
        "s_order": s_order,
        "s_total": s_total,
        "conv": conv_s,
        "ev_sess": ev_sess,
        "ev_pos": pos,
        "ev_name": name,
        "ev_ts": ev_ts,
        "ev_sku": ev_sku,
        "ev_user": ev_user,
        "ev_first_id": st.counters["event"] - n_e,
        "n_orders": n_orders,
    }
    return sessions, journey_truth


def _ship(world: World, st: State, d: date, offset: int, day0: int, peak: bool):
    rng = day_rng(world.seed, d, "shipping")
    n_mkt = world.n_mkt
    due = st.orders.filter(pl.col("ship_day") == offset)
    empty_manifest = {"n": 0}
    if len(due) == 0:
        return {"shipments": 0, "parcels": 0}, empty_manifest, _emit_tracking(st, day0)
    it = st.items.join(due.select("order_idx", "market", "service"), on="order_idx", how="inner").sort(
        "order_idx", "line_no"
    )
    i_order = it["order_idx"].to_numpy()
    i_wh = it["wh"].to_numpy()
    i_line = it["line_no"].to_numpy()
    i_sku = it["sku"].to_numpy()
    i_qty = it["qty"].to_numpy()
    i_mkt = it["market"].to_numpy()
    i_service = it["service"].to_numpy()
    # parcels: one per (order, warehouse); some multi-line parcels are split in two boxes
    split = hash_uniform(world.seed, i_order, 17) < 0.35
    part = np.where(split, i_line % 2, 0)
    pkey = (i_order * 8 + i_wh) * 2 + part
    porder = np.lexsort((pkey,))
    pkey_s = pkey[porder]
    newp = np.ones(len(pkey_s), dtype=bool)
    newp[1:] = pkey_s[1:] != pkey_s[:-1]
    parcel_of_item = np.empty(len(pkey), dtype=np.int64)
    parcel_of_item[porder] = np.cumsum(newp) - 1
    n_p = int(newp.sum())
    first_item = porder[newp]
    p_order, p_wh, p_mkt, p_service = i_order[first_item], i_wh[first_item], i_mkt[first_item], i_service[first_item]
    p_weight = np.bincount(parcel_of_item, i_qty * world.sku_weight[i_sku], n_p)
    # consolidation: a few parcels of different orders on the same lane travel as one shipment
    gkey = (p_wh * n_mkt + p_mkt) * 3 + p_service
    gorder = np.lexsort((rng.random(n_p), gkey))
    g_s, o_s = gkey[gorder], p_order[gorder]
    news = np.ones(n_p, dtype=bool)
    news[1:] = (g_s[1:] != g_s[:-1]) | (o_s[1:] == o_s[:-1]) | (rng.random(n_p - 1) > 0.06)
    ship_of_parcel = np.empty(n_p, dtype=np.int64)
    ship_of_parcel[gorder] = np.cumsum(news) - 1
    n_sh = int(news.sum())
    lead_parcel = gorder[news]
    s_wh, s_mkt, s_service = p_wh[lead_parcel], p_mkt[lead_parcel], p_service[lead_parcel]
    s_weight = np.round(np.bincount(ship_of_parcel, p_weight, n_sh) + 0.05 * np.bincount(ship_of_parcel, None, n_sh), 3)
    s_idx = st.counters["shipment"] + np.arange(n_sh)
    st.counters["shipment"] += n_sh
    # carrier
    s_carrier = np.zeros(n_sh, dtype=np.int64)
    for wkey, levels in ref.CARRIER_CHOICE.items():
        wsel = s_wh < 3 if wkey == "origin" else s_wh == ref.WH[wkey]
        for lv, choice in enumerate(levels):
            sel = wsel & (s_service == lv)
            if sel.any():
                names = list(choice)
                s_carrier[sel] = rng.choice([ref.CR[c] for c in names], size=int(sel.sum()), p=list(choice.values()))
    s_tracking = st.counters["tracking"] + np.arange(n_sh)
    st.counters["tracking"] += n_sh
    ccy = np.array([ref.CARRIERS[c][1] for c in s_carrier])
    base = np.array([ref.FREIGHT[c][0] for c in ccy])
    per_kg = np.array([ref.FREIGHT[c][1] for c in ccy])
    svc_mult = np.array([0.8, 1.0, 2.2])[s_service]
    freight = np.round((base + per_kg * s_weight) * svc_mult * np.exp(rng.normal(0, 0.08, n_sh)), 2)
    # transit: lane base x service speed x noise, plus congestion and customs holds on cross-border lanes
    origin = s_wh < 3
    transit = world.lane_transit[s_wh, s_mkt] * np.array(ref.SERVICE_SPEED)[s_service]
    transit = transit * np.exp(rng.normal(0, 0.18, n_sh))
    if peak:
        transit = transit + np.where(origin, rng.uniform(1, 4, n_sh), rng.uniform(0, 1, n_sh))
    hold = origin & (rng.random(n_sh) < world.lane_hold[s_mkt])
    hold_days = np.where(hold, rng.uniform(2, 8, n_sh), 0.0)
    promise_days = world.lane_promise[s_wh, s_mkt, s_service].astype(np.int64)
    h = HOUR_MS
    t_pick = day0 + rng.integers(9 * h, 20 * h, n_sh)
    t_dep = t_pick + rng.integers(4 * h, 20 * h, n_sh)
    t_exp = t_dep + rng.integers(3 * h, 12 * h, n_sh)
    t_tr = t_exp + rng.integers(12 * h, 36 * h, n_sh)
    t_arr = t_tr + np.maximum(24 * h, (0.5 * (transit * 24 * h - (t_tr - t_pick)))).astype(np.int64)
    t_held = np.where(hold, t_arr + rng.integers(1 * h, 5 * h, n_sh), -1)
    t_clr = t_arr + (hold_days * 24 * h).astype(np.int64) + rng.integers(4 * h, 20 * h, n_sh)
    t_ofd = np.maximum(
        t_clr + 12 * h,
        t_pick
        + (transit * 24 * h).astype(np.int64)
        + (hold_days * 24 * h).astype(np.int64)
        - rng.integers(3 * h, 8 * h, n_sh),
    )
    # last mile from an overseas warehouse: pick-up, one scan, out for delivery, delivered
    dom_tr = t_pick + rng.integers(6 * h, 20 * h, n_sh)
    dom_ofd = np.maximum(
        dom_tr + 6 * h, t_pick + (transit * 24 * h).astype(np.int64) - rng.integers(3 * h, 8 * h, n_sh)
    )
    t_ofd = np.where(origin, t_ofd, dom_ofd)
    exc = rng.random(n_sh) < 0.015
    rts = exc & (rng.random(n_sh) < 0.3)
    t_exc = np.where(exc, t_ofd + rng.integers(2 * h, 8 * h, n_sh), -1)
    t_ofd2 = np.where(exc & ~rts, t_exc + rng.integers(24 * h, 72 * h, n_sh), -1)
    t_del = np.where(exc, t_ofd2 + rng.integers(2 * h, 8 * h, n_sh), t_ofd + rng.integers(2 * h, 8 * h, n_sh))
    t_del = np.where(rts, -1, t_del)
    t_rts = np.where(rts, t_exc + rng.integers(5 * 24 * h, 10 * 24 * h, n_sh), -1)
    slots = [
        ("picked_up", t_pick, "o"),
        ("departed_origin", np.where(origin, t_dep, -1), "o"),
        ("export_customs_cleared", np.where(origin, t_exp, -1), "o"),
        ("in_transit", np.where(origin, t_tr, dom_tr), "o"),
        ("arrived_destination", np.where(origin, t_arr, -1), "d"),
        ("import_customs_held", t_held, "d"),
        ("import_customs_cleared", np.where(origin, t_clr, -1), "d"),
        ("out_for_delivery", t_ofd, "d"),
        ("exception", t_exc, "d"),
        ("out_for_delivery", t_ofd2, "d"),
        ("delivered", t_del, "d"),
        ("returned_to_sender", t_rts, "d"),
    ]
    codes = {c: i for i, c in enumerate(ref.TRACKING_EVENTS)}
    n_loc = len(ref.WAREHOUSES)
    frames = []
    for code, ts, where in slots:
        sel = ts >= 0
        loc = s_wh if where == "o" else n_loc + s_mkt  # location index: warehouse, or destination market
        frames.append(
            pl.DataFrame(
                {
                    "shipment": s_idx[sel],
                    "carrier": s_carrier[sel],
                    "tracking": s_tracking[sel],
                    "code": np.full(int(sel.sum()), codes[code]),
                    "ts": ts[sel],
                    "loc": loc[sel],
                },
                schema=st.tracking.schema,
            )
        )
    st.tracking = pl.concat([st.tracking, *frames])
    ship_date_days = offset
    promised_day = ship_date_days + promise_days
    deliv_day = np.where(t_del >= 0, (t_del - epoch_ms(world.start)) // DAY_MS, -1)
    on_time = (t_del >= 0) & (deliv_day <= promised_day)
    np.add.at(st.lane_stats, (s_wh, s_mkt, 0), t_del >= 0)
    np.add.at(st.lane_stats, (s_wh, s_mkt, 1), on_time)

    # order updates: shipped, delivered (all parcels), refunded on return-to-sender, customer returns
    so = pl.DataFrame({"order_idx": p_order, "shipment": s_idx[ship_of_parcel]}).unique(maintain_order=True)
    so = so.join(
        pl.DataFrame(
            {
                "shipment": s_idx,
                "carrier": s_carrier,
                "tracking": s_tracking,
                "pick": t_pick,
                "deliv": t_del,
                "rts": t_rts,
            }
        ),
        on="shipment",
    )
    st.order_shipments = pl.concat([st.order_shipments, so.select(st.order_shipments.columns)])
    agg = so.group_by("order_idx").agg(
        pl.col("pick").min().alias("s_pick"),
        pl.when((pl.col("deliv") < 0).any()).then(-1).otherwise(pl.col("deliv").max()).alias("s_deliv"),
        pl.col("rts").max().alias("s_rts"),
    )
    upd = due.join(agg, on="order_idx").sort("order_idx")
    n_u = len(upd)
    cod_idx = world.payment_methods.index("cash_on_delivery") if "cash_on_delivery" in world.payment_methods else -1
    is_cod = upd["pay_method"].to_numpy() == cod_idx
    s_deliv = upd["s_deliv"].to_numpy()
    s_rts = upd["s_rts"].to_numpy()
    lost_parcel = s_deliv < 0
    ret = ~lost_parcel & (rng.random(n_u) < 0.045)
    returned_ts = np.where(ret, s_deliv + rng.integers(5 * 24 * h, 20 * 24 * h, n_u), -1)
    refunded_ts = np.where(ret, returned_ts + rng.integers(24 * h, 4 * 24 * h, n_u), -1)
    net = (upd["subtotal"] - upd["discount"] + upd["tax"]).to_numpy()
    refund = np.where(ret, np.where(rng.random(n_u) < 0.3, net // 2, net), 0)
    refunded_ts = np.where(lost_parcel & ~is_cod, s_rts + 24 * h, refunded_ts)
    refund = np.where(lost_parcel & ~is_cod, upd["total"].to_numpy(), refund)
    cancelled_ts = np.where(lost_parcel & is_cod, s_rts + 24 * h, upd["cancelled_ts"].to_numpy())
    paid_ts = np.where(is_cod & ~lost_parcel, s_deliv, upd["paid_ts"].to_numpy())
    upd = upd.with_columns(
        shipped_ts=upd["s_pick"],
        delivered_ts=pl.Series(s_deliv),
        returned_ts=pl.Series(returned_ts),
        refunded_ts=pl.Series(refunded_ts),
        refund=pl.Series(refund),
        cancelled_ts=pl.Series(cancelled_ts),
        paid_ts=pl.Series(paid_ts),
    ).select(st.orders.columns)
    st.orders = pl.concat([st.orders.filter(pl.col("ship_day") != offset), upd]).sort("order_idx")
    # inventory leaves the warehouse
    flat = i_sku * len(ref.WAREHOUSES) + i_wh
    np.add.at(st.on_hand.reshape(-1), flat, -i_qty)
    np.add.at(st.reserved.reshape(-1), flat, -i_qty)

    orders_per_ship = so.group_by("shipment").agg(pl.col("order_idx").sort()).sort("shipment")["order_idx"].to_list()
    manifest = {
        "n": n_sh,
        "shipment": s_idx,
        "carrier": s_carrier,
        "tracking": s_tracking,
        "service": s_service,
        "wh": s_wh,
        "mkt": s_mkt,
        "weight": s_weight,
        "freight": freight,
        "currency": ccy,
        "promised_day": promised_day,
        "orders": orders_per_ship,
        "pick": t_pick,
    }
    truth = {
        "shipments": n_sh,
        "parcels": n_p,
        "multi_order_shipments": int(sum(len(o) > 1 for o in orders_per_ship)),
        "split_orders": int((so.group_by("order_idx").len()["len"] > 1).sum()),
        "customs_holds": int(hold.sum()),
        "exceptions": int(exc.sum()),
        "returned_to_sender": int(rts.sum()),
        "freight_cost": {c: round(float(freight[ccy == c].sum()), 2) for c in sorted(set(ccy.tolist()))},
    }
    return truth, manifest, _emit_tracking(st, day0)


def _emit_tracking(st: State, day0: int) -> pl.DataFrame:
    today = st.tracking.filter(pl.col("ts") < day0 + DAY_MS)
    st.tracking = st.tracking.filter(pl.col("ts") >= day0 + DAY_MS)
    return today.sort("ts", "tracking", "code")


def _order_versions(world: World, st: State, day0: int, day1: int) -> tuple[pl.DataFrame, dict]:
    o = st.orders
    cod_idx = world.payment_methods.index("cash_on_delivery")
    frames = []
    for code, col in enumerate(ORDER_TS_COLS):
        sel = o.filter((pl.col(col) >= day0) & (pl.col(col) < day1))
        if col == "paid_ts":
            sel = sel.filter(pl.col("pay_method") != cod_idx)
        frames.append(sel.with_columns(status=pl.lit(code, pl.Int64), ts=pl.col(col)))
    v = pl.concat(frames)
    ts_cols = [c for c in ORDER_TS_COLS]
    version = pl.sum_horizontal([((pl.col(c) >= 0) & (pl.col(c) <= pl.col("ts"))).cast(pl.Int64) for c in ts_cols]) - (
        (pl.col("pay_method") == cod_idx) & (pl.col("paid_ts") >= 0) & (pl.col("paid_ts") <= pl.col("ts"))
    ).cast(pl.Int64)
    v = v.with_columns(version=version).sort("ts", "order_idx", "status")
    # release reservations of orders cancelled today before shipping
    cancelled_today = v.filter((pl.col("status") == 2) & (pl.col("shipped_ts") < 0))["order_idx"]
    if len(cancelled_today):
        it = st.items.filter(pl.col("order_idx").is_in(cancelled_today.implode()))
        flat = it["sku"].to_numpy() * len(ref.WAREHOUSES) + it["wh"].to_numpy()
        np.add.at(st.reserved.reshape(-1), flat, -it["qty"].to_numpy())
    # close orders with nothing left to happen
    last = pl.max_horizontal([pl.col(c) for c in ts_cols])
    done = ((pl.col("cancelled_ts") >= 0) & (pl.col("shipped_ts") < 0)) | (pl.col("shipped_ts") >= 0)
    closed = o.filter(done & (last < day1))["order_idx"]
    ids = v["order_idx"].unique().implode()
    v_items = st.items.filter(pl.col("order_idx").is_in(ids))
    v_ships = st.order_shipments.filter(pl.col("order_idx").is_in(ids))
    if len(closed):
        keep = pl.col("order_idx").is_in(closed.implode()).not_()
        st.orders = st.orders.filter(keep)
        st.items = st.items.filter(keep)
        st.order_shipments = st.order_shipments.filter(keep)
    statuses = ["created", "paid", "cancelled", "shipped", "delivered", "returned", "refunded"]
    counts = v.group_by("status").len()
    by_status = {statuses[s]: int(n) for s, n in zip(counts["status"], counts["len"], strict=True)}
    truth = {"order_versions": len(v), "by_status": dict(sorted(by_status.items())), "open_orders": len(st.orders)}
    return (v, v_items, v_ships), truth


def _ad_reports(world: World, st: State, d: date, offset: int, s: dict) -> dict:
    rng = day_rng(world.seed, d, "ads")
    n_c = len(world.campaign_channel)
    camp = s["s_campaign"]
    has = camp >= 0
    sessions = np.bincount(camp[has], minlength=n_c)
    purchases = np.bincount(camp[has & s["conv"]], minlength=n_c)
    active = (world.campaign_start <= offset) & (offset < world.campaign_end)
    # platforms count a few percent more clicks than sessions arrive (bounces before the page loads)
    clicks = sessions + rng.poisson(sessions * np.clip(rng.normal(0.03, 0.01, n_c), 0, None))
    ctr = np.array([ref.CTR[ref.PAID_CHANNELS[c]] for c in world.campaign_channel])
    impressions = np.round(clicks / (ctr * np.exp(rng.normal(0, 0.2, n_c)))).astype(np.int64) + rng.poisson(40, n_c)
    cpc = np.array([ref.CPC_USD[ref.PAID_CHANNELS[c]] for c in world.campaign_channel])
    mfac = np.array([m[11] for m in ref.MARKETS])[world.campaign_market]
    spend_usd = clicks * cpc * mfac * np.exp(rng.normal(0, 0.15, n_c))
    fx = st.fx[world.campaign_currency]
    spend = np.round(spend_usd * fx, 2)
    conversions = np.round(purchases * rng.uniform(1.0, 1.5, n_c), 2)
    rows = np.flatnonzero(active & ((impressions > 0) | (clicks > 0)))
    truth = {}
    for p in ref.PLATFORMS:
        sel = rows[[ref.PLATFORM_OF[ref.PAID_CHANNELS[world.campaign_channel[r]]] == p for r in rows]]
        truth[p] = {
            "rows": len(sel),
            "clicks": int(clicks[sel].sum()),
            "sessions_with_ad_click": int(sessions[sel].sum()),
            "impressions": int(impressions[sel].sum()),
            "spend_usd": round(float(spend_usd[sel].sum()), 2),
        }
    return {
        "rows": rows,
        "clicks": clicks,
        "impressions": impressions,
        "spend": spend,
        "conversions": conversions,
        "truth": truth,
    }
