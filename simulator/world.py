"""The static world: sellers, products, customers' name pools, campaigns, demand parameters, lanes.

Everything here is a function of (seed, scale, start date) only, never of the number of days, so a world
generated for N days and extended day by day is the same world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from faker import Faker

from simulator import reference as ref
from simulator.rng import hex_ids, permute_digits, world_rng

HORIZON_DAYS = 365  # onboarding, churn and campaign dates are drawn over this horizon from the start


@dataclass(frozen=True)
class Scale:
    name: str
    n_sellers: int
    skus_per_seller: int
    default_days: int
    units_per_day: float  # mean demand units per day over all SKUs and markets
    customers_per_market: int  # existing customers per unit of market weight at the start


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 56, 11, 92, 62.0, 20_000),
    "demo": Scale("demo", 200, 25, 365, 1_080.0, 400_000),
    "bench": Scale("bench", 2000, 25, 365, 10_800.0, 4_000_000),
}


@dataclass
class World:
    seed: int
    scale: Scale
    start: date
    effect_scale: float
    markets: pl.DataFrame
    sellers: pl.DataFrame
    products: pl.DataFrame
    campaigns: pl.DataFrame
    # arrays indexed by product (sku index) and market
    base_demand: np.ndarray  # [n_sku, n_mkt] mean units/day before calendar effects
    dispersion: np.ndarray  # [n_sku] negative binomial shape k (smaller: more over-dispersed)
    price_minor: np.ndarray  # [n_sku, n_mkt] list price in the market currency's minor units
    fulfil_wh: np.ndarray  # [n_sku, n_mkt] warehouse index serving the SKU in the market
    stocked: np.ndarray  # [n_sku, n_wh] bool
    sku_seller: np.ndarray
    sku_category: np.ndarray
    sku_weight: np.ndarray
    seller_origin: np.ndarray
    seller_onboard: np.ndarray  # day offset from start (negative: before the world starts)
    seller_churn: np.ndarray  # day offset, large if never
    seller_dormant: np.ndarray  # day offset, large if never
    seller_currency: np.ndarray  # currency index
    category_trend: np.ndarray  # [n_cat] yearly relative growth
    market_currency: np.ndarray
    market_vat: np.ndarray
    market_decimals: np.ndarray
    market_pay_methods: list[list[str]]
    market_pay_weights: list[np.ndarray]
    payment_methods: list[str]
    market_tz: list[ZoneInfo]
    customer_base: np.ndarray  # customers existing at the start per market
    customer_growth: np.ndarray  # new signups per day per market
    name_pools: dict[str, list[np.ndarray]] = field(default_factory=dict)
    lane_transit: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [n_wh, n_mkt] base transit days
    lane_promise: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [n_wh, n_mkt, n_service] promised days
    lane_hold: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [n_mkt] customs hold probability
    campaign_channel: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_market: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_end: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_seller: np.ndarray = field(default_factory=lambda: np.zeros(0))
    campaign_currency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drift_additive_day: int = 0
    drift_breaking_day: int = 0

    @property
    def n_sku(self) -> int:
        return len(self.sku_seller)

    @property
    def n_mkt(self) -> int:
        return len(ref.MARKETS)

    def effect(self, channel: str) -> float:
        return min(0.95, ref.CHANNEL_EFFECT[channel] * self.effect_scale)

    def day_of(self, offset: int) -> date:
        return self.start + timedelta(days=offset)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:14] or "shop"


def _name_pools(seed: int) -> dict[str, list[np.ndarray]]:
    """Small pools of locale-specific names, streets and cities; customers combine them by hashing."""
    pools: dict[str, list[np.ndarray]] = {}
    for m in ref.MARKETS:
        code, locale = m[0], m[8]
        fake = Faker(locale)
        for provider in fake.providers:
            # some locales build their city list from a set: order it, or results depend on PYTHONHASHSEED
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)
        fake.seed_instance(seed * 1000 + ref.MARKET_CODES.index(code))
        first = [fake.first_name() for _ in range(40)]
        last = [fake.last_name() for _ in range(40)]
        users = [u for u in (fake.user_name() for _ in range(60)) if u.isascii()]
        if len(users) < 20:
            users += [f"user{n}" for n in range(40)]
        streets = [fake.street_name().replace("\n", " ").replace('"', "") for _ in range(30)]
        cities = [fake.city().replace("\n", " ") for _ in range(15)]
        postcodes = [fake.postcode() for _ in range(15)]
        domains = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", f"mail.{code.lower()}.example"]
        pools[code] = [np.array(x, dtype=object) for x in (first, last, users, streets, cities, postcodes, domains)]
    return pools


@lru_cache(maxsize=4)
def _cached_pools(seed: int) -> dict[str, list[np.ndarray]]:
    return _name_pools(seed)


def build_world(seed: int, scale_name: str, start: date, effect_scale: float = 1.0) -> World:
    scale = SCALES[scale_name]
    rng = world_rng(seed, 1)
    n_mkt = len(ref.MARKETS)
    n_cat = len(ref.CATEGORIES)

    # --- sellers
    ns = scale.n_sellers
    c_share = np.array([c[1] for c in ref.SELLER_COUNTRIES])
    s_country = rng.choice(len(ref.SELLER_COUNTRIES), size=ns, p=c_share / c_share.sum())
    cat_share = np.array([c[3] for c in ref.CATEGORIES])
    # the first 5 sellers of each category are established (onboarded before the start, never churn), so
    # every category x market peer cohort has at least five sellers
    n_core = min(ns, 5 * n_cat)
    s_cat = np.concatenate(
        [np.repeat(np.arange(n_cat), 5)[:n_core], rng.choice(n_cat, size=ns - n_core, p=cat_share / cat_share.sum())]
    )
    core = np.arange(ns) < n_core
    s_tier = rng.choice(3, size=ns, p=[0.5, 0.4, 0.1])
    late = (rng.random(ns) < 0.1) & ~core
    s_onboard = np.where(late, rng.integers(1, HORIZON_DAYS, ns), -rng.integers(30, 1100, ns))
    fate = np.where(core, 1.0, rng.random(ns))
    never = 10**6
    after = np.maximum(s_onboard, 0) + 30 + rng.integers(0, HORIZON_DAYS, ns)
    s_churn = np.where(fate < 0.05, after, never)
    s_dormant = np.where((fate >= 0.05) & (fate < 0.11), after, never)
    s_origin = np.where(
        np.array([ref.SELLER_COUNTRIES[c][0] for c in s_country]) == "CN",
        rng.choice(3, size=ns, p=[0.5, 0.25, 0.25]),
        0,
    )
    s_size = np.exp(rng.normal(0, 0.8, ns)) * np.array([0.7, 1.2, 2.5])[s_tier]
    fake = Faker("en_US")
    fake.seed_instance(seed)
    words = [
        "Xinda",
        "Huaxin",
        "Brightway",
        "Jiayi",
        "Sunrise",
        "Kaixin",
        "Oriental",
        "Greenleaf",
        "Dragon",
        "Tianyu",
        "Minh Phat",
        "Anadolu",
        "Bosphorus",
        "Pacific",
        "Golden",
        "Starlink",
        "Yongsheng",
        "Hengtai",
    ]
    seller_ids = [f"S{100001 + i}" for i in range(ns)]
    names, emails, langs, tzs, currencies = [], [], [], [], []
    for i in range(ns):
        country, _, ccy, tz, lang_choices = ref.SELLER_COUNTRIES[s_country[i]]
        w1, w2 = words[rng.integers(len(words))], fake.word().capitalize()
        city = {
            "CN": ["Shenzhen", "Yiwu", "Guangzhou", "Hangzhou"],
            "HK": ["Hong Kong"],
            "VN": ["Hanoi", "Saigon"],
            "TR": ["Istanbul", "Izmir"],
            "US": ["Los Angeles", "Dallas"],
        }[country]
        name = f"{city[rng.integers(len(city))]} {w1} {w2} " + (
            "Trading Co., Ltd." if country in ("CN", "HK") else "LLC" if country == "US" else "Ltd."
        )
        names.append(name)
        domain = ["qq.com", "163.com", "gmail.com", "outlook.com", f"{_slug(w1 + w2)}.com"][rng.integers(5)]
        emails.append(f"reports.{seller_ids[i].lower()}@{domain}")
        langs.append(lang_choices[rng.integers(len(lang_choices))])
        tzs.append(tz)
        currencies.append(ccy)
    sellers = pl.DataFrame(
        {
            "seller_id": seller_ids,
            "seller_name": names,
            "country": [ref.SELLER_COUNTRIES[c][0] for c in s_country],
            "home_currency": currencies,
            "timezone": tzs,
            "language": langs,
            "main_category": [ref.CATEGORY_NAMES[c] for c in s_cat],
            "plan_tier": [ref.PLAN_TIERS[t] for t in s_tier],
            "report_email": emails,
            "onboarded_on": [(start + timedelta(days=int(d))).isoformat() for d in s_onboard],
            "origin_warehouse": [ref.WAREHOUSES[w][0] for w in s_origin],
        }
    )

    # --- products
    n_per = np.maximum(3, rng.poisson(scale.skus_per_seller * np.clip(s_size, 0.3, 3.0)))
    sku_seller = np.repeat(np.arange(ns), n_per)
    n_sku = len(sku_seller)
    sku_cat = np.where(rng.random(n_sku) < 0.8, s_cat[sku_seller], rng.integers(0, n_cat, n_sku))
    med_price = np.array([c[1] for c in ref.CATEGORIES])[sku_cat]
    price_usd = np.round(med_price * np.exp(rng.normal(0, 0.55, n_sku)), 2).clip(2.5, 400)
    unit_cost = np.round(price_usd * rng.uniform(0.25, 0.55, n_sku), 2)
    med_w = np.array([c[2] for c in ref.CATEGORIES])[sku_cat]
    weight = np.round(med_w * np.exp(rng.normal(0, 0.6, n_sku)), 3).clip(0.02, 30)
    size_class = np.select([weight < 0.5, weight < 2, weight < 10], ["small", "medium", "large"], "bulky")
    # long tail: Zipf-like popularity over a random ranking, bigger sellers rank higher on average
    score = rng.random(n_sku) ** (1.0 / np.clip(s_size[sku_seller], 0.2, 5))
    rank = np.empty(n_sku, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(n_sku)
    pop = (rank + 1.0) ** -1.05
    pop /= pop.sum()
    mkt_w = np.array([m[5] for m in ref.MARKETS])
    mkt_w = mkt_w / mkt_w.sum()
    affinity = np.exp(rng.normal(0, 0.5, (n_sku, n_mkt)))  # SKU x market taste
    base = scale.units_per_day * pop[:, None] * mkt_w[None, :] * affinity
    base *= scale.units_per_day / base.sum()
    dispersion = np.exp(rng.normal(0.0, 0.5, n_sku)).clip(0.15, 20)
    dispersion = np.where(base.sum(1) > 5, dispersion * 6, dispersion)  # high-volume series are smooth

    mkt_ccy = np.array([ref.CURRENCY_CODES.index(m[1]) for m in ref.MARKETS])
    decimals = np.array([ref.CURRENCIES[m[1]][3] for m in ref.MARKETS])
    fx0 = np.array([ref.CURRENCIES[m[1]][0] for m in ref.MARKETS])
    price_factor = np.exp(rng.normal(0, 0.08, n_mkt))
    local = price_usd[:, None] * fx0[None, :] * price_factor[None, :]
    # charm pricing: x.99 for 2-decimal currencies, round tens/hundreds for the others
    two = decimals == 2
    cents = np.where(two[None, :], (np.ceil(local) - 0.01) * 100, np.ceil(local / 10) * 10)
    big = (decimals == 0) & (fx0 > 1000)
    cents = np.where(big[None, :], np.ceil(local / 1000) * 1000, cents)
    price_minor = cents.astype(np.int64)

    overseas = (rank < 0.3 * n_sku) & (rng.random(n_sku) < 0.9)
    stocked = np.zeros((n_sku, len(ref.WAREHOUSES)), dtype=bool)
    stocked[np.arange(n_sku), s_origin[sku_seller]] = True
    for w in (3, 4, 5):
        stocked[:, w] = overseas
    mkt_wh = np.array([ref.WH.get(m[6], -1) for m in ref.MARKETS])
    fulfil = np.repeat(s_origin[sku_seller][:, None], n_mkt, axis=1)
    for mi, w in enumerate(mkt_wh):
        if w >= 0:
            fulfil[:, mi] = np.where(overseas, w, fulfil[:, mi])

    nouns = ref.PRODUCT_NOUNS
    titles = [
        f"{ref.ADJECTIVES[a]} {nouns[ref.CATEGORY_NAMES[c]][n]}"
        for a, c, n in zip(rng.integers(0, 10, n_sku), sku_cat, rng.integers(0, 6, n_sku), strict=True)
    ]
    sku_ids = hex_ids(np.arange(n_sku), seed ^ 0x5151, 10)
    products = pl.DataFrame(
        {
            "sku": np.char.add("SKU-", np.char.upper(sku_ids)),
            "seller_id": np.array(seller_ids)[sku_seller],
            "category": np.array(ref.CATEGORY_NAMES)[sku_cat],
            "title": titles,
            "list_price_usd": price_usd,
            "unit_cost_usd": unit_cost,
            "weight_kg": weight,
            "size_class": size_class,
            "overseas_stock": overseas,
        }
    )

    # --- markets
    pay_methods = sorted({p for m in ref.MARKETS for p in m[7]})
    markets = pl.DataFrame(
        {
            "market": ref.MARKET_CODES,
            "currency": [m[1] for m in ref.MARKETS],
            "language": [m[2] for m in ref.MARKETS],
            "timezone": [m[3] for m in ref.MARKETS],
            "vat_rate": [m[4] for m in ref.MARKETS],
            "payment_methods": [list(m[7]) for m in ref.MARKETS],
            "serving_warehouse": [m[6] if m[6] != "CN" else "CN-direct" for m in ref.MARKETS],
        }
    )

    # --- campaigns: one platform campaign per paid channel x market, plus seller campaigns
    rows = []
    for ci, ch in enumerate(ref.PAID_CHANNELS):
        for mi, mc in enumerate(ref.MARKET_CODES):
            rows.append(
                (ci, mi, -1, -HORIZON_DAYS * 3, 10**6, 1.0, ref.CURRENCY_CODES.index("USD"), f"PLT_{mc}_{ch}_always_on")
            )
    advertisers = np.flatnonzero(rng.random(ns) < 0.4)
    for s in advertisers:
        for _ in range(rng.integers(1, 4)):
            ci = int(rng.integers(len(ref.PAID_CHANNELS)))
            mi = int(rng.choice(n_mkt, p=mkt_w))
            st = int(max(s_onboard[s], -60) + rng.integers(0, HORIZON_DAYS))
            en = st + int(rng.integers(14, 120)) if rng.random() < 0.7 else 10**6
            theme = ["spring_sale", "new_arrivals", "bestsellers", "clearance", "brand", "q4_push"][rng.integers(6)]
            rows.append(
                (
                    ci,
                    mi,
                    int(s),
                    st,
                    en,
                    0.6,
                    ref.CURRENCY_CODES.index(currencies[s]),
                    f"{seller_ids[s]}_{ref.MARKET_CODES[mi]}_{theme}",
                )
            )
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    c_ch = np.array([r[0] for r in rows])
    c_mk = np.array([r[1] for r in rows])
    c_seller = np.array([r[2] for r in rows])
    c_start = np.array([r[3] for r in rows])
    c_end = np.array([r[4] for r in rows])
    c_w = np.array([r[5] for r in rows])
    c_ccy = np.array([r[6] for r in rows])
    n_c = len(rows)
    digits = {"google_search": 10, "google_shopping": 10, "meta": 17, "tiktok": 18, "marketplace_ads": 12}
    prefix = {"google_search": "", "google_shopping": "", "meta": "238", "tiktok": "17", "marketplace_ads": ""}
    camp_ids = []
    for i in range(n_c):
        ch = ref.PAID_CHANNELS[c_ch[i]]
        body = int(permute_digits(np.array([i + 1]), min(digits[ch], 12), seed + c_ch[i])[0])
        camp_ids.append(prefix[ch] + str(body).zfill(min(digits[ch], 12)))
    accounts = []
    for i in range(n_c):
        plat = ref.PLATFORM_OF[ref.PAID_CHANNELS[c_ch[i]]]
        owner = 0 if c_seller[i] < 0 else c_seller[i] + 1
        if plat == "google_ads":
            n = 1_000_000_000 + owner * 7919 + seed % 1000
            accounts.append(f"{str(n)[:3]}-{str(n)[3:6]}-{str(n)[6:10]}")
        elif plat == "meta":
            accounts.append(f"act_{10_000_000_000 + owner * 104729 + seed % 997}")
        elif plat == "tiktok":
            accounts.append(str(7_000_000_000_000_000_000 // 1000 + owner * 15485863 + seed % 991))
        else:
            accounts.append(f"ENTITY{1_000_000 + owner * 31 + seed % 97}")
    budget_usd = np.round(np.where(c_seller < 0, 40 + 400 * mkt_w[c_mk] * 4, rng.uniform(20, 150, n_c)), 0)
    fx_now = np.array([ref.CURRENCIES[ref.CURRENCY_CODES[c]][0] for c in c_ccy])
    campaigns = pl.DataFrame(
        {
            "campaign_id": camp_ids,
            "campaign_name": [r[7] for r in rows],
            "platform": [ref.PLATFORM_OF[ref.PAID_CHANNELS[c]] for c in c_ch],
            "channel": [ref.PAID_CHANNELS[c] for c in c_ch],
            "account_id": accounts,
            "account_type": np.where(c_seller < 0, "platform", "seller"),
            "seller_id": [None if s < 0 else seller_ids[s] for s in c_seller],
            "account_currency": [ref.CURRENCY_CODES[c] for c in c_ccy],
            "target_market": [ref.MARKET_CODES[m] for m in c_mk],
            "daily_budget": np.round(budget_usd * fx_now, 2),
            "start_date": [(start + timedelta(days=int(d))).isoformat() for d in c_start],
            "end_date": [None if d >= 10**5 else (start + timedelta(days=int(d))).isoformat() for d in c_end],
        }
    )

    # --- lanes
    n_wh = len(ref.WAREHOUSES)
    transit = np.zeros((n_wh, n_mkt))
    for mi, mc in enumerate(ref.MARKET_CODES):
        transit[:3, mi] = ref.CN_TRANSIT[mc] + np.array([0.0, 0.6, 0.3])
        for w in (3, 4, 5):
            domestic = ref.WAREHOUSES[w][2] == mc
            transit[w, mi] = (2.0 if domestic else 3.2) + (1.0 if mc in ("US", "CA") else 0.0)
    promise = np.ceil(transit[:, :, None] * np.array(ref.SERVICE_SPEED)[None, None, :] * 1.12 + 1)
    hold = np.array([ref.CUSTOMS_HOLD.get(m, ref.DEFAULT_HOLD) for m in ref.MARKET_CODES])

    tz = [ZoneInfo(m[3]) for m in ref.MARKETS]
    cust_base = np.maximum(200, scale.customers_per_market * mkt_w).astype(np.int64)
    cust_growth = np.maximum(1, cust_base / 900).astype(np.int64)

    return World(
        seed=seed,
        scale=scale,
        start=start,
        effect_scale=effect_scale,
        markets=markets,
        sellers=sellers,
        products=products,
        campaigns=campaigns,
        base_demand=base.astype(np.float64),
        dispersion=dispersion,
        price_minor=price_minor,
        fulfil_wh=fulfil.astype(np.int64),
        stocked=stocked,
        sku_seller=sku_seller,
        sku_category=sku_cat,
        sku_weight=weight,
        seller_origin=s_origin,
        seller_onboard=s_onboard,
        seller_churn=s_churn,
        seller_dormant=s_dormant,
        seller_currency=np.array([ref.CURRENCY_CODES.index(c) for c in currencies]),
        category_trend=rng.uniform(-0.2, 0.45, n_cat),
        market_currency=mkt_ccy,
        market_vat=np.array([m[4] for m in ref.MARKETS]),
        market_decimals=decimals,
        market_pay_methods=[list(m[7]) for m in ref.MARKETS],
        market_pay_weights=[np.array(list(m[7].values())) / sum(m[7].values()) for m in ref.MARKETS],
        payment_methods=pay_methods,
        market_tz=tz,
        customer_base=cust_base,
        customer_growth=cust_growth,
        name_pools=_cached_pools(seed),
        lane_transit=transit,
        lane_promise=promise,
        lane_hold=hold,
        campaign_channel=c_ch,
        campaign_market=c_mk,
        campaign_start=c_start,
        campaign_end=c_end,
        campaign_weight=c_w,
        campaign_seller=c_seller,
        campaign_currency=c_ccy,
        drift_additive_day=round(scale.default_days * 0.4),
        drift_breaking_day=round(scale.default_days * 0.6),
    )
