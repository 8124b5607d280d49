"""Deterministic narrative: the same insights always give the same sentences (templates in :mod:`reports.i18n`)."""

from __future__ import annotations

import math

from reports.data import ReportData
from reports.i18n import METRIC_NAMES, Lang

FLAT = 0.005  # |growth| below 0.5% reads as unchanged
CHANNEL_NAMES = {
    "tiktok": "TikTok",
    "meta": "Meta",
    "google_search": "Google Search",
    "google_shopping": "Google Shopping",
    "marketplace_ads": "Marketplace Ads",
    "organic_search": "organic search",
    "direct": "direct",
    "email": "email",
    "affiliate": "affiliate",
    "referral": "referral",
    "unattributed": "unattributed",
}
MARKET_NAMES = {"en": {}, "zh": {}}  # market codes are shown as they are (US, DE, GB...)


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def summary(data: ReportData, lang: Lang) -> list[str]:
    """The opening paragraphs: GMV change and its main driver, or the no-sales sentence."""
    c = data.current
    cur = data.currency
    start, end = lang.date(data.period_start), lang.date(data.period_end)
    if not data.has_sales:
        return [lang.t("no_sales", start=start, end=end)]
    gmv = lang.money(_num(c.get("gmv_home")), cur)
    prev = _num((data.previous or {}).get("gmv_home"))
    vs = lang.t(f"vs_{data.period_type}")
    parts = []
    if prev is None or prev <= 0:
        parts.append(lang.t("gmv_no_previous", gmv=gmv, orders=lang.number(_num(c.get("orders")))))
    else:
        growth = (_num(c.get("gmv_home")) or 0.0) / prev - 1
        if abs(growth) < FLAT:
            parts.append(lang.t("gmv_flat", gmv=gmv, vs=vs))
        else:
            key = "gmv_change_up" if growth > 0 else "gmv_change_down"
            parts.append(lang.t(key, pct=lang.percent(abs(growth), 0), vs=vs, gmv=gmv))
            driver = main_driver(data, lang, growth > 0)
            if driver:
                parts.append(lang.t("driver", what=driver))
    return [" ".join(parts)]


def main_driver(data: ReportData, lang: Lang, rising: bool) -> str:
    """The channel x market with the largest change in the direction of the total, else the biggest factor."""
    d = data.drivers
    if d is None or d.empty:
        return ""
    cm = d[d.dimension == "channel_market"]
    cm = cm[((cm.change_home > 0) if rising else (cm.change_home < 0)) & ~cm.key.str.startswith("unattributed|")]
    if not cm.empty:
        top = cm.iloc[cm.change_home.abs().argmax()]
        share = _num(top.get("share_of_change"))
        if share is not None and share >= 0.3:
            channel, _, market = str(top.key).partition("|")
            return lang.t("driver_channel_market", channel=CHANNEL_NAMES.get(channel, channel), market=market or "–")
    factors = d[d.dimension == "factor"]
    if factors.empty:
        return ""
    same = factors[(factors.change_home > 0) if rising else (factors.change_home < 0)]
    if same.empty:
        return ""
    top = same.iloc[same.change_home.abs().argmax()]
    return lang.t(f"driver_factor_{top.key}" + ("" if rising else "_down"))


def details(data: ReportData, lang: Lang) -> list[str]:
    c = data.current
    cur = data.currency
    lines = [
        lang.t(
            "orders_line",
            orders=lang.number(_num(c.get("orders"))),
            units=lang.number(_num(c.get("units"))),
            aov=lang.money(_num(c.get("aov_home")), cur),
        )
    ]
    if data.period_type != "day":
        lines.append(
            lang.t(
                "conversion_line",
                sessions=lang.number(_num(c.get("sessions"))),
                conv=lang.percent(_num(c.get("unit_session_conversion"))),
            )
        )
        lines.append(
            lang.t(
                "refund_line",
                refund_rate=lang.percent(_num(c.get("refund_rate"))),
                on_time=lang.percent(_num(c.get("on_time_rate"))),
            )
        )
        if (_num(c.get("ad_spend_home")) or 0) > 0:
            lines.append(
                lang.t(
                    "ads_line",
                    spend=lang.money(_num(c.get("ad_spend_home")), cur),
                    roas=lang.number(_num(c.get("roas")), 2),
                )
            )
        yoy = _num(c.get("gmv_growth_last_year"))
        if yoy is not None:
            lines.append(lang.t("yoy_line", pct=lang.percent(yoy)))
        score = _num(c.get("health_score"))
        if score is not None:
            lines.append(lang.t("health", score=lang.number(score)))
    return lines


def benchmark_lines(data: ReportData, lang: Lang) -> list[str]:
    b = data.benchmarks
    if b is None or b.empty:
        return []
    out = []
    for r in b.itertuples():
        if not r.is_shown or r.cohort_size < 5:  # never show small cohorts, whatever the table says
            continue
        out.append(
            lang.t(
                "benchmark_line",
                metric=lang.t(METRIC_NAMES[r.metric]),
                market=r.market_code,
                pct=lang.percent(float(r.percentile), 0),
                size=int(r.cohort_size),
            )
        )
    return out


def alert_lines(data: ReportData, lang: Lang) -> list[str]:
    out = []
    for r in data.alerts.itertuples() if data.alerts is not None else []:
        fmt = _formatter(r.alert_type, data, lang)
        out.append(
            lang.t(
                f"alert_{r.alert_type}",
                value=fmt(_num(r.metric_value)),
                baseline=fmt(_num(r.baseline_value)),
                subject=r.subject or "",
            )
        )
    return out


def _formatter(kind: str, data: ReportData, lang: Lang):
    if kind == "sales_drop":
        return lambda v: lang.money(v, data.currency)
    if kind in ("refund_spike", "lane_delay", "review_refunds", "investigate_lane"):
        return lambda v: lang.percent(v)
    return lambda v: lang.number(v)


def recommendation_lines(data: ReportData, lang: Lang) -> list[str]:
    out = []
    recs = data.recommendations if data.recommendations is not None else []
    for r in recs.itertuples() if len(recs) else []:
        fmt = _formatter(r.rule, data, lang)
        source, _, target = str(r.subject or "").partition("->")
        out.append(
            lang.t(
                f"rec_{r.rule}",
                subject=r.subject or "",
                value=fmt(_num(r.metric_value)),
                source=CHANNEL_NAMES.get(source, source),
                target=CHANNEL_NAMES.get(target, target),
                best=lang.number(_num(r.metric_value), 2),
                worst=lang.number(_num(r.reference_value), 2),
            )
        )
    return out
