"""Render a seller report: HTML (email: charts as ``cid:`` parts; PDF: the same page with inline images), the
PDF (headless Chromium) and the CSV of daily SKU metrics. Plan tiers decide the content: free = the summary;
pro = + benchmarks, alerts, recommendations, forecasts; enterprise = + daily reports and the full-history CSV."""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports import charts, narrative
from reports.data import ReportData
from reports.i18n import Lang
from reports.pdf import PdfPrinter

TEMPLATES = Path(__file__).parent / "templates"
PRO_TIERS = ("pro", "enterprise")


@dataclass
class RenderedReport:
    seller_id: str
    period_type: str
    period_start: str
    period_end: str
    subject: str
    html: str  # the email body (images as cid:)
    pdf_html: str  # the page printed to PDF (images inline)
    images: dict[str, bytes]
    csv: bytes
    pdf: bytes = b""
    language: str = "en"
    narrative: list[str] = field(default_factory=list)

    @property
    def basename(self) -> str:
        return f"report_{self.seller_id}_{self.period_type}_{self.period_start}"


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))


def _kpis(data: ReportData, lang: Lang) -> list[tuple[str, str, str]]:
    c, p, cur = data.current, data.previous or {}, data.currency
    num = narrative._num
    rows = [
        ("gmv", lambda r: lang.money(num(r.get("gmv_home")), cur)),
        ("orders", lambda r: lang.number(num(r.get("orders")))),
        ("units", lambda r: lang.number(num(r.get("units")))),
        ("aov", lambda r: lang.money(num(r.get("aov_home")), cur)),
    ]
    if data.period_type != "day":
        rows += [
            ("sessions", lambda r: lang.number(num(r.get("sessions")))),
            ("conversion", lambda r: lang.percent(num(r.get("unit_session_conversion")))),
            ("refund_rate", lambda r: lang.percent(num(r.get("refund_rate")))),
            ("on_time", lambda r: lang.percent(num(r.get("on_time_rate")))),
            ("ad_spend", lambda r: lang.money(num(r.get("ad_spend_home")), cur)),
            ("roas", lambda r: lang.number(num(r.get("roas")), 2)),
        ]
    else:
        rows.append(("refund_rate", lambda r: lang.percent(num(r.get("refund_rate")))))
    return [(lang.t(key), fmt(c), fmt(p) if p else "–") for key, fmt in rows]


def _sku_rows(frame, data: ReportData, lang: Lang) -> list[dict]:
    return [
        {
            "sku": r.sku,
            "title": r.sku_title,
            "units": lang.number(r.units),
            "gmv": lang.money(float(r.gmv_home), data.currency),
        }
        for r in frame.itertuples()
    ]


def render(data: ReportData, printer: PdfPrinter | None = None, workdir: Path | None = None) -> RenderedReport:
    """Render one report; with ``printer`` also print its PDF (else ``pdf`` stays empty)."""
    lang = Lang.for_seller(data.seller.get("seller_language"))
    title = lang.t(f"title_{data.period_type}")
    start, end = lang.date(data.period_start), lang.date(data.period_end)
    summary = narrative.summary(data, lang)
    details = narrative.details(data, lang)
    pro = data.tier in PRO_TIERS
    images = charts.charts(data, lang)
    selling = data.skus[data.skus.gmv_home > 0]
    top = selling.head(5)
    bottom = selling.iloc[5:].tail(5).iloc[::-1] if len(selling) > 5 else selling.iloc[0:0]
    zero = int((data.skus.units == 0).sum())
    forecast = ""
    if data.forecasts is not None and not data.forecasts.empty:
        f = data.forecasts.iloc[0]
        forecast = lang.t("forecast_line", days=int(f.days), units=lang.number(float(f.units)))
    elif data.forecasts is not None:
        forecast = lang.t("forecast_line", days=28, units=lang.number(0))
    context = {
        "lang": lang,
        "title": title,
        "seller_name": data.seller.get("seller_name") or data.seller_id,
        "period_text": lang.t("period", start=start, end=end),
        "fallback_note": lang.t("language_fallback") if lang.is_fallback else "",
        "greeting": lang.t("greeting", name=data.seller.get("seller_name") or data.seller_id),
        "summary": summary,
        "details": details,
        "kpis": _kpis(data, lang),
        "top_skus": _sku_rows(top, data, lang),
        "bottom_skus": _sku_rows(bottom, data, lang),
        "zero_skus": lang.t("zero_skus", count=zero) if zero else "",
        "pro": pro and data.period_type != "day",
        "benchmarks": narrative.benchmark_lines(data, lang) if pro else [],
        "alerts": narrative.alert_lines(data, lang) if pro else [],
        "recommendations": narrative.recommendation_lines(data, lang) if pro else [],
        "has_inventory_alerts": data.has_inventory_alerts,
        "forecast": forecast,
        "footer": lang.t(
            "footer", currency=data.currency, timezone=data.seller.get("seller_timezone"), published=data.published_at
        ),
    }
    template = _env.get_template("seller_report.html.j2")
    html = template.render(**context, images=[(n, f"cid:{n}") for n in images])
    pdf_html = template.render(
        **context, images=[(n, "data:image/png;base64," + base64.b64encode(b).decode()) for n, b in images.items()]
    )
    report = RenderedReport(
        seller_id=data.seller_id,
        period_type=data.period_type,
        period_start=data.period_start.isoformat(),
        period_end=data.period_end.isoformat(),
        subject=lang.t("subject", title=title, start=start, end=end),
        html=html,
        pdf_html=pdf_html,
        images=images,
        csv=data.csv.to_csv(index=False).encode("utf-8"),
        language=lang.code,
        narrative=summary + details,
    )
    if printer is not None:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            page = Path(tmp) / f"{report.basename}.html"
            page.write_text(pdf_html, encoding="utf-8")
            report.pdf = printer.print_html(page, Path(tmp) / f"{report.basename}.pdf").read_bytes()
    return report
