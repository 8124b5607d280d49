"""The executive weekly digest (internal, to ``LAKEHOUSE_ADMIN_EMAIL``): marketplace headline KPIs of the last
complete week (reporting time zone and currency) vs the week before and the same week last year, the sellers
with the largest GMV changes, and the quality status of the published warehouse."""

from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage

from jinja2 import Template

from lakehouse.settings import Settings, get_settings

HEADLINE = {"gmv_reporting": "GMV", "orders": "Orders", "units": "Units", "refunds_reporting": "Refunds"}
TEMPLATE = Template(
    """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Executive weekly digest</title></head><body
style="font-family: sans-serif; max-width: 720px">
<h1>Executive weekly digest</h1><p>{{ start }} – {{ end }} ({{ tz }}, {{ currency }})</p>
<h2>Marketplace headline KPIs</h2><table border="0" cellpadding="4">
<tr><th>Metric</th><th>This week</th><th>Previous week</th><th>Change</th><th>Last year</th></tr>
{% for r in kpis %}<tr><td>{{ r.name }}</td><td>{{ r.now }}</td><td>{{ r.prev }}</td><td>{{ r.change }}</td>
<td>{{ r.ly }}</td></tr>{% endfor %}</table>
<h2>Top movers (GMV change, {{ currency }})</h2><table border="0" cellpadding="4">
<tr><th>Seller</th><th>This week</th><th>Previous week</th><th>Change</th></tr>
{% for r in movers %}<tr><td>{{ r.seller }}</td><td>{{ r.now }}</td><td>{{ r.prev }}</td><td>{{ r.change }}</td></tr>
{% endfor %}</table>
<h2>Data quality</h2><p>{{ quality }}</p></body></html>""",
    autoescape=True,
)


def _week(settings: Settings) -> tuple[date, date]:
    today = settings.now().astimezone(settings.tz).date()
    start = today - timedelta(days=today.weekday() + 7)
    return start, start + timedelta(days=6)


def render_digest(settings: Settings | None = None) -> tuple[str, str]:
    """(subject, html) of the digest from the published warehouse."""
    from lakehouse.duck import session
    from lakehouse.warehouse import files

    settings = settings or get_settings()
    start, end = _week(settings)
    spans = {
        "now": (start, end),
        "prev": (start - timedelta(7), end - timedelta(7)),
        "ly": (start - timedelta(364), end - timedelta(364)),
    }
    with session(settings=settings, lake=False) as con:
        totals = {}
        for key, (a, b) in spans.items():
            row = con.execute(
                f"select {', '.join(f'sum({c})::double' for c in HEADLINE)} from kpi_daily "
                "where date_reporting between ? and ?",
                [a, b],
            ).fetchone()
            totals[key] = dict(zip(HEADLINE, row, strict=True))
        movers = con.execute(
            "select s.seller_name || ' (' || d.seller_id || ')' as seller, "
            "sum(case when date_seller between ? and ? then gmv_reporting else 0 end) as now, "
            "sum(case when date_seller between ? and ? then gmv_reporting else 0 end) as prev "
            "from seller_daily d join dim_seller s using (seller_id) group by all "
            "order by abs(now - prev) desc, seller limit 5",
            [*spans["now"], *spans["prev"]],
        ).fetchall()
    import json

    manifest = json.loads(files(settings).manifest.read_text()) if files(settings).manifest.exists() else {}
    quality = manifest.get("quality", {})

    def fmt(v):
        return "–" if v is None else f"{v:,.0f}"

    def pct(a, b):
        return "–" if not a or not b else f"{a / b - 1:+.1%}"

    kpis = [
        {
            "name": name,
            "now": fmt(totals["now"][c]),
            "prev": fmt(totals["prev"][c]),
            "change": pct(totals["now"][c], totals["prev"][c]),
            "ly": fmt(totals["ly"][c]),
        }
        for c, name in HEADLINE.items()
    ]
    html = TEMPLATE.render(
        start=start,
        end=end,
        tz=settings.reporting_timezone,
        currency=settings.reporting_currency,
        kpis=kpis,
        movers=[{"seller": s, "now": fmt(n), "prev": fmt(p), "change": fmt(n - p)} for s, n, p in movers],
        quality=f"{quality.get('status', 'unknown')} (dbt tests: {quality.get('dbt_tests', '–')}), published "
        f"{str(manifest.get('published_at', '–'))[:19]}",
    )
    return f"Executive weekly digest: {start} – {end}", html


def send_digest(settings: Settings | None = None) -> str:
    """Mail the digest to the admin address; returns the recipient."""
    from lakehouse.mail import Mailer

    settings = settings or get_settings()
    subject, html = render_digest(settings)
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.mail_from, settings.admin_email
    msg.set_content(subject)
    msg.add_alternative(html, subtype="html")
    Mailer(settings).send(msg)
    return settings.admin_email
