"""Fixed catalogues of the simulated marketplace: markets, currencies, channels, warehouses, carriers, holidays."""

from __future__ import annotations

from datetime import date, timedelta

# code, currency, language, timezone, VAT/GST rate, traffic weight, serving warehouse, payment methods, faker locale,
# phone country code, main city, CPC factor (vs US)
MARKETS: list[tuple] = [
    (
        "US",
        "USD",
        "en",
        "America/New_York",
        0.07,
        0.22,
        "US-ONT",
        {"card": 0.62, "paypal": 0.25, "apple_pay": 0.13},
        "en_US",
        "1",
        "Los Angeles",
        1.0,
    ),
    (
        "CA",
        "CAD",
        "en",
        "America/Toronto",
        0.13,
        0.04,
        "US-ONT",
        {"card": 0.7, "paypal": 0.3},
        "en_CA",
        "1",
        "Toronto",
        0.8,
    ),
    (
        "GB",
        "GBP",
        "en",
        "Europe/London",
        0.20,
        0.07,
        "GB-BHX",
        {"card": 0.65, "paypal": 0.25, "klarna": 0.10},
        "en_GB",
        "44",
        "London",
        0.9,
    ),
    (
        "DE",
        "EUR",
        "de",
        "Europe/Berlin",
        0.19,
        0.08,
        "DE-LEJ",
        {"paypal": 0.4, "card": 0.3, "klarna": 0.2, "sofort": 0.1},
        "de_DE",
        "49",
        "Frankfurt",
        0.85,
    ),
    (
        "FR",
        "EUR",
        "fr",
        "Europe/Paris",
        0.20,
        0.05,
        "DE-LEJ",
        {"card": 0.7, "paypal": 0.3},
        "fr_FR",
        "33",
        "Paris",
        0.8,
    ),
    (
        "ES",
        "EUR",
        "es",
        "Europe/Madrid",
        0.21,
        0.04,
        "DE-LEJ",
        {"card": 0.6, "paypal": 0.3, "bizum": 0.1},
        "es_ES",
        "34",
        "Madrid",
        0.6,
    ),
    (
        "IT",
        "EUR",
        "it",
        "Europe/Rome",
        0.22,
        0.04,
        "DE-LEJ",
        {"card": 0.55, "paypal": 0.35, "cash_on_delivery": 0.10},
        "it_IT",
        "39",
        "Milan",
        0.6,
    ),
    (
        "NL",
        "EUR",
        "nl",
        "Europe/Amsterdam",
        0.21,
        0.03,
        "DE-LEJ",
        {"ideal": 0.7, "card": 0.2, "paypal": 0.1},
        "nl_NL",
        "31",
        "Amsterdam",
        0.8,
    ),
    (
        "PL",
        "PLN",
        "pl",
        "Europe/Warsaw",
        0.23,
        0.03,
        "DE-LEJ",
        {"blik": 0.5, "card": 0.3, "cash_on_delivery": 0.2},
        "pl_PL",
        "48",
        "Warsaw",
        0.4,
    ),
    (
        "BR",
        "BRL",
        "pt",
        "America/Sao_Paulo",
        0.17,
        0.05,
        "CN",
        {"pix": 0.5, "boleto": 0.2, "card": 0.3},
        "pt_BR",
        "55",
        "Sao Paulo",
        0.3,
    ),
    (
        "MX",
        "MXN",
        "es",
        "America/Mexico_City",
        0.16,
        0.04,
        "CN",
        {"card": 0.5, "oxxo": 0.3, "paypal": 0.2},
        "es_MX",
        "52",
        "Mexico City",
        0.3,
    ),
    (
        "JP",
        "JPY",
        "ja",
        "Asia/Tokyo",
        0.10,
        0.05,
        "CN",
        {"card": 0.6, "konbini": 0.25, "paypay": 0.15},
        "ja_JP",
        "81",
        "Tokyo",
        0.8,
    ),
    ("KR", "KRW", "ko", "Asia/Seoul", 0.10, 0.03, "CN", {"card": 0.6, "kakaopay": 0.4}, "ko_KR", "82", "Seoul", 0.6),
    (
        "AU",
        "AUD",
        "en",
        "Australia/Sydney",
        0.10,
        0.04,
        "CN",
        {"card": 0.6, "paypal": 0.3, "afterpay": 0.1},
        "en_AU",
        "61",
        "Sydney",
        0.8,
    ),
    (
        "SA",
        "SAR",
        "ar",
        "Asia/Riyadh",
        0.15,
        0.03,
        "CN",
        {"cash_on_delivery": 0.45, "mada": 0.35, "card": 0.2},
        "ar_SA",
        "966",
        "Riyadh",
        0.5,
    ),
    (
        "AE",
        "AED",
        "ar",
        "Asia/Dubai",
        0.05,
        0.03,
        "CN",
        {"card": 0.55, "cash_on_delivery": 0.45},
        "ar_AE",
        "971",
        "Dubai",
        0.6,
    ),
    (
        "ID",
        "IDR",
        "id",
        "Asia/Jakarta",
        0.11,
        0.03,
        "CN",
        {"cash_on_delivery": 0.4, "gopay": 0.3, "bank_transfer": 0.3},
        "id_ID",
        "62",
        "Jakarta",
        0.15,
    ),
    (
        "TH",
        "THB",
        "th",
        "Asia/Bangkok",
        0.07,
        0.02,
        "CN",
        {"cash_on_delivery": 0.4, "promptpay": 0.35, "card": 0.25},
        "th_TH",
        "66",
        "Bangkok",
        0.2,
    ),
    (
        "VN",
        "VND",
        "vi",
        "Asia/Ho_Chi_Minh",
        0.10,
        0.02,
        "CN",
        {"cash_on_delivery": 0.6, "momo": 0.25, "card": 0.15},
        "vi_VN",
        "84",
        "Ho Chi Minh City",
        0.15,
    ),
    (
        "PH",
        "PHP",
        "en",
        "Asia/Manila",
        0.12,
        0.02,
        "CN",
        {"cash_on_delivery": 0.5, "gcash": 0.35, "card": 0.15},
        "en_PH",
        "63",
        "Manila",
        0.15,
    ),
    (
        "MY",
        "MYR",
        "ms",
        "Asia/Kuala_Lumpur",
        0.08,
        0.02,
        "CN",
        {"grabpay": 0.35, "fpx": 0.35, "cash_on_delivery": 0.3},
        "en_US",
        "60",
        "Kuala Lumpur",
        0.25,
    ),
    (
        "SG",
        "SGD",
        "en",
        "Asia/Singapore",
        0.09,
        0.02,
        "CN",
        {"card": 0.5, "grabpay": 0.3, "paynow": 0.2},
        "en_US",
        "65",
        "Singapore",
        0.7,
    ),
]
MARKET_CODES = [m[0] for m in MARKETS]
# Payment methods whose money arrives hours or days after the order (and may never arrive).
DELAYED_PAYMENT = {"boleto", "oxxo", "konbini", "bank_transfer"}

# currency: (units per USD at the start, daily log volatility, daily drift, minor-unit digits)
CURRENCIES: dict[str, tuple[float, float, float, int]] = {
    "USD": (1.0, 0.0, 0.0, 2),
    "EUR": (0.92, 0.004, 0.0, 2),
    "GBP": (0.78, 0.004, 0.0, 2),
    "CAD": (1.37, 0.003, 0.0, 2),
    "PLN": (3.95, 0.005, 0.0, 2),
    "BRL": (5.4, 0.008, 0.0001, 2),
    "MXN": (18.5, 0.007, 0.0, 2),
    "JPY": (150.0, 0.005, 0.0, 0),
    "KRW": (1380.0, 0.005, 0.0, 0),
    "AUD": (1.52, 0.005, 0.0, 2),
    "SAR": (3.75, 0.0, 0.0, 2),
    "AED": (3.6725, 0.0, 0.0, 2),
    "IDR": (16000.0, 0.004, 0.0, 0),
    "THB": (35.5, 0.004, 0.0, 2),
    "VND": (25400.0, 0.002, 0.00005, 0),
    "PHP": (57.0, 0.003, 0.0, 2),
    "MYR": (4.5, 0.003, 0.0, 2),
    "SGD": (1.34, 0.002, 0.0, 2),
    "CNY": (7.2, 0.002, 0.0, 2),
    "HKD": (7.8, 0.0003, 0.0, 2),
    "TRY": (38.0, 0.004, 0.0008, 2),
}
CURRENCY_CODES = list(CURRENCIES)

CATEGORIES: list[tuple[str, float, float, float]] = [
    # name, median list price USD, median weight kg, share of sellers
    ("electronics_accessories", 18.0, 0.25, 0.2),
    ("home_kitchen", 22.0, 0.9, 0.16),
    ("fashion", 25.0, 0.4, 0.16),
    ("beauty", 14.0, 0.2, 0.1),
    ("toys_games", 20.0, 0.6, 0.1),
    ("sports_outdoors", 30.0, 1.2, 0.1),
    ("pet_supplies", 16.0, 0.8, 0.09),
    ("auto_parts", 28.0, 1.5, 0.09),
]
CATEGORY_NAMES = [c[0] for c in CATEGORIES]
PRODUCT_NOUNS = {
    "electronics_accessories": [
        "USB-C Cable",
        "Phone Case",
        "Wireless Charger",
        "Earbuds",
        "Power Bank",
        "Screen Protector",
    ],
    "home_kitchen": ["Storage Box", "Knife Set", "LED Lamp", "Silicone Mat", "Spice Rack", "Shower Caddy"],
    "fashion": ["Hoodie", "Sneakers", "Crossbody Bag", "Sunglasses", "Scarf", "Denim Jacket"],
    "beauty": ["Lip Tint", "Sheet Mask", "Hair Clip Set", "Makeup Brush Set", "Nail Kit", "Facial Roller"],
    "toys_games": ["Building Blocks", "RC Car", "Puzzle", "Plush Toy", "Card Game", "Slime Kit"],
    "sports_outdoors": ["Yoga Mat", "Camping Lantern", "Resistance Bands", "Cycling Gloves", "Water Bottle", "Tent"],
    "pet_supplies": ["Cat Tree", "Dog Leash", "Pet Bed", "Chew Toy", "Grooming Brush", "Feeder"],
    "auto_parts": ["Dash Cam", "Seat Cover", "Phone Mount", "LED Headlight", "Floor Mat", "Tire Inflator"],
}
ADJECTIVES = ["Premium", "Portable", "Mini", "Pro", "Classic", "Ultra", "Eco", "Smart", "Deluxe", "Compact"]

# seller home country: share, currency, timezone, languages
SELLER_COUNTRIES: list[tuple[str, float, str, str, list[str]]] = [
    ("CN", 0.72, "CNY", "Asia/Shanghai", ["zh", "zh", "zh", "en"]),
    ("HK", 0.08, "HKD", "Asia/Hong_Kong", ["zh", "en"]),
    ("VN", 0.07, "VND", "Asia/Ho_Chi_Minh", ["vi", "en"]),
    ("TR", 0.07, "TRY", "Europe/Istanbul", ["tr", "en"]),
    ("US", 0.06, "USD", "America/Los_Angeles", ["en"]),
]
PLAN_TIERS = ["free", "pro", "enterprise"]

CHANNELS = [
    "google_search",
    "google_shopping",
    "meta",
    "tiktok",
    "marketplace_ads",
    "email",
    "affiliate",
    "organic_search",
    "direct",
    "referral",
]
PAID_CHANNELS = CHANNELS[:5]
CH = {c: i for i, c in enumerate(CHANNELS)}
# Planted incremental conversion probability of a touched user who would not buy anyway (x effect_scale).
CHANNEL_EFFECT = {
    "google_search": 0.20,
    "google_shopping": 0.15,
    "meta": 0.08,
    "tiktok": 0.06,
    "marketplace_ads": 0.0,
    "email": 0.12,
    "affiliate": 0.10,
    "organic_search": 0.10,
    "direct": 0.0,
    "referral": 0.08,
}
# Share of orders caused by each channel; the rest (baseline) would happen anyway.
CAUSE_SHARE = {
    "google_search": 0.12,
    "google_shopping": 0.08,
    "meta": 0.08,
    "tiktok": 0.06,
    "email": 0.06,
    "affiliate": 0.05,
    "organic_search": 0.06,
    "referral": 0.04,
}
# Channel a baseline (would-buy-anyway) buyer arrives through: the zero-effect paid channel targets them.
BASELINE_JOURNEY = {"direct": 0.35, "organic_search": 0.2, "marketplace_ads": 0.3, "email": 0.1, "referral": 0.05}
# Extra non-converting touches per baseline buyer arriving through the channel.
BASELINE_BOUNCE = {"marketplace_ads": 0.5, "direct": 1.5, "organic_search": 0.3, "email": 0.3, "referral": 0.5}
# Ad platform of each paid channel, CPC in USD, CTR, utm source/medium
PLATFORM_OF = {
    "google_search": "google_ads",
    "google_shopping": "google_ads",
    "meta": "meta",
    "tiktok": "tiktok",
    "marketplace_ads": "marketplace_ads",
}
PLATFORMS = ["google_ads", "meta", "tiktok", "marketplace_ads"]
CPC_USD = {"google_search": 0.45, "google_shopping": 0.35, "meta": 0.30, "tiktok": 0.20, "marketplace_ads": 0.40}
CTR = {"google_search": 0.05, "google_shopping": 0.012, "meta": 0.009, "tiktok": 0.007, "marketplace_ads": 0.004}
UTM = {
    "google_search": ("google", "cpc"),
    "google_shopping": ("google", "shopping"),
    "meta": ("facebook", "paid_social"),
    "tiktok": ("tiktok", "paid_social"),
    "marketplace_ads": ("marketplace", "sponsored_products"),
    "email": ("newsletter", "email"),
    "affiliate": (None, "affiliate"),
    "organic_search": (None, None),
    "direct": (None, None),
    "referral": (None, None),
}
CLICK_ID = {"google_search": "gclid", "google_shopping": "gclid", "meta": "fbclid", "tiktok": "ttclid"}
REFERRERS = {
    "google_search": ["https://www.google.com/"],
    "google_shopping": ["https://www.google.com/"],
    "meta": ["https://m.facebook.com/", "https://l.instagram.com/"],
    "tiktok": ["https://www.tiktok.com/"],
    "organic_search": [
        "https://www.google.com/",
        "https://www.bing.com/",
        "https://search.yahoo.co.jp/",
        "https://www.naver.com/",
    ],
    "referral": [
        "https://www.reddit.com/",
        "https://dealsforum.example.org/",
        "https://blog.gadgetnews.example.com/",
        "https://www.pinterest.com/",
    ],
}
AFFILIATES = ["aff_cashbackworld", "aff_couponhub", "aff_techreviewer", "aff_dealfinder"]
AFFILIATE_COMMISSION = 0.08

# code, city, country, kind
WAREHOUSES: list[tuple[str, str, str, str]] = [
    ("CN-SZX", "Shenzhen", "CN", "origin"),
    ("CN-YIW", "Yiwu", "CN", "origin"),
    ("CN-CAN", "Guangzhou", "CN", "origin"),
    ("US-ONT", "Ontario CA", "US", "overseas"),
    ("DE-LEJ", "Leipzig", "DE", "overseas"),
    ("GB-BHX", "Birmingham", "GB", "overseas"),
]
WH = {w[0]: i for i, w in enumerate(WAREHOUSES)}
ORIGIN_WAREHOUSES = [0, 1, 2]

# carrier: currency, tracking prefix, digits, suffix, kind
CARRIERS: list[tuple[str, str, str, int, str]] = [
    ("yunexpress", "CNY", "YT", 16, ""),
    ("cainiao", "CNY", "LP", 14, ""),
    ("4px", "CNY", "4PX", 13, "CN"),
    ("china_post", "CNY", "LX", 9, "CN"),
    ("usps", "USD", "9400", 18, ""),
    ("ups", "USD", "1Z", 16, ""),
    ("dhl_paket", "EUR", "00340", 15, ""),
    ("dpd", "EUR", "0", 13, ""),
    ("royal_mail", "GBP", "RM", 9, "GB"),
    ("evri", "GBP", "H0", 14, ""),
]
CARRIER_NAMES = [c[0] for c in CARRIERS]
CR = {c: i for i, c in enumerate(CARRIER_NAMES)}
SERVICE_LEVELS = ["economy", "standard", "express"]
SERVICE_SHARE = [0.3, 0.6, 0.1]
SERVICE_SPEED = [1.5, 1.0, 0.55]
# carrier choice per (warehouse kind/code, service level)
CARRIER_CHOICE = {
    "origin": [{"china_post": 0.6, "cainiao": 0.4}, {"yunexpress": 0.5, "cainiao": 0.3, "4px": 0.2}, {"4px": 1.0}],
    "US-ONT": [{"usps": 1.0}, {"usps": 0.8, "ups": 0.2}, {"ups": 1.0}],
    "DE-LEJ": [{"dhl_paket": 1.0}, {"dhl_paket": 0.7, "dpd": 0.3}, {"dpd": 1.0}],
    "GB-BHX": [{"evri": 1.0}, {"evri": 0.6, "royal_mail": 0.4}, {"royal_mail": 1.0}],
}
# freight: (base, per kg) in carrier currency for a standard parcel
FREIGHT = {"CNY": (18.0, 62.0), "USD": (4.2, 1.6), "EUR": (3.9, 1.2), "GBP": (3.1, 1.1)}
# cross-border transit days from China by destination, customs hold probability
CN_TRANSIT = {
    "US": 9,
    "CA": 10,
    "GB": 9,
    "DE": 10,
    "FR": 10,
    "ES": 11,
    "IT": 11,
    "NL": 9,
    "PL": 12,
    "BR": 18,
    "MX": 15,
    "JP": 5,
    "KR": 5,
    "AU": 10,
    "SA": 10,
    "AE": 8,
    "ID": 7,
    "TH": 6,
    "VN": 5,
    "PH": 7,
    "MY": 6,
    "SG": 5,
}
CUSTOMS_HOLD = {"BR": 0.15, "MX": 0.08, "SA": 0.05, "ID": 0.08, "AE": 0.03}
DEFAULT_HOLD = 0.02
TRACKING_EVENTS = [
    "picked_up",
    "departed_origin",
    "export_customs_cleared",
    "in_transit",
    "arrived_destination",
    "import_customs_held",
    "import_customs_cleared",
    "out_for_delivery",
    "delivered",
    "exception",
    "returned_to_sender",
]
TRACKING_TEXT = {
    "picked_up": "Shipment picked up",
    "departed_origin": "Departed origin facility",
    "export_customs_cleared": "Export customs clearance completed",
    "in_transit": "In transit",
    "arrived_destination": "Arrived at destination country",
    "import_customs_held": "Held by import customs",
    "import_customs_cleared": "Import customs clearance completed",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "exception": "Delivery exception: address issue",
    "returned_to_sender": "Returned to sender",
}

CNY_DATES = {
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
}
RAMADAN_START = {
    2022: "2022-04-02",
    2023: "2023-03-23",
    2024: "2024-03-11",
    2025: "2025-03-01",
    2026: "2026-02-18",
    2027: "2027-02-08",
    2028: "2028-01-28",
    2029: "2029-01-16",
    2030: "2030-01-06",
}
RAMADAN_MARKETS = ["SA", "AE", "ID", "MY"]
WESTERN = ["US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "BR", "MX", "AU"]
ASIAN_SALES = ["ID", "TH", "VN", "PH", "MY", "SG", "KR", "JP"]


def _year_date(table: dict[int, str], year: int) -> date:
    if year in table:
        return date.fromisoformat(table[year])
    base_year = min(table, key=lambda y: abs(y - year))
    # lunar dates move ~11 days earlier each year; good enough outside the table
    return date.fromisoformat(table[base_year]) + timedelta(days=round((year - base_year) * -10.9))


def black_friday(year: int) -> date:
    nov1 = date(year, 11, 1)
    first_thu = nov1 + timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thu + timedelta(days=22)


def holidays(year: int) -> list[tuple[date, str, str, list[str], float]]:
    """(date, name, kind, markets, demand multiplier) for one year."""
    out: list[tuple[date, str, str, list[str], float]] = []
    bf = black_friday(year)
    for i in range(-3, 0):
        out.append((bf + timedelta(days=i), "black_friday_week", "sales_event", WESTERN, 1.4))
    out.append((bf, "black_friday", "sales_event", WESTERN, 2.6))
    out.append((bf + timedelta(days=1), "black_friday_weekend", "sales_event", WESTERN, 1.8))
    out.append((bf + timedelta(days=2), "black_friday_weekend", "sales_event", WESTERN, 1.6))
    out.append((bf + timedelta(days=3), "cyber_monday", "sales_event", WESTERN, 2.2))
    out.append((date(year, 11, 11), "singles_day_11_11", "sales_event", ASIAN_SALES, 3.0))
    out.append(
        (date(year, 11, 11), "singles_day_11_11", "sales_event", [m for m in MARKET_CODES if m not in ASIAN_SALES], 1.4)
    )
    out.append((date(year, 12, 12), "double_12", "sales_event", ASIAN_SALES, 2.0))
    for d in range(1, 21):
        out.append((date(year, 12, d), "christmas_shopping", "season", [*WESTERN, "SG", "PH"], 1.3))
    for d in (24, 25, 26):
        out.append((date(year, 12, d), "christmas", "public_holiday", [*WESTERN, "PH"], 0.6))
    cny = _year_date(CNY_DATES, year)
    for i in range(-7, 11):
        out.append((cny + timedelta(days=i), "chinese_new_year", "origin_slowdown", ["CN"], 1.0))
    ram = _year_date(RAMADAN_START, year)
    for i in range(29):
        out.append((ram + timedelta(days=i), "ramadan", "season", RAMADAN_MARKETS, 1.25))
    for i in range(29, 32):
        out.append((ram + timedelta(days=i), "eid_al_fitr", "public_holiday", RAMADAN_MARKETS, 0.7))
    return out
