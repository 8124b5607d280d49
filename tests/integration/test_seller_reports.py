"""Seller insights and reports on the tiny world: every seller's weekly report is rendered and really mailed once
per session to a local SMTP server (aiosmtpd on a free port); the tests read the stored .eml files back.

Figures are recomputed independently from silver (polars over the Delta tables, FX from bronze), never from the
marts the reports read.
"""

from __future__ import annotations

import email
import io
import os
import re
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import polars as pl
import pytest

from lakehouse.delta import read_pandas, read_polars
from lakehouse.settings import get_settings, reset_settings
from tests.conftest import free_port
from tests.integration.recompute import bronze, fx_to_reporting

pytestmark = pytest.mark.integration

CJK_RADICALS = re.compile(r"[\u2e80-\u2fdf]")  # radical code points some PDF text layers use for unified ideographs


@pytest.fixture(scope="session")
def smtp_server(lakehouse_home: Path):
    """A real SMTP server on a free 127.0.0.1 port storing .eml files; settings point at it for the session."""
    from reports.smtp_server import start

    port = free_port()
    mail_dir = lakehouse_home / "test-mail"
    controller = start(port, mail_dir)
    saved = os.environ.get("LAKEHOUSE_SMTP_PORT")
    os.environ["LAKEHOUSE_SMTP_PORT"] = str(port)
    reset_settings()
    yield mail_dir
    controller.stop()
    if saved is None:
        os.environ.pop("LAKEHOUSE_SMTP_PORT", None)
    else:
        os.environ["LAKEHOUSE_SMTP_PORT"] = saved
    reset_settings()


@pytest.fixture(scope="session")
def sellers_ref(tiny_warehouse) -> pd.DataFrame:
    s = bronze("sellers")
    s = (
        s.filter(pl.col("snapshot_date") == s["snapshot_date"].max())
        .sort("_ingested_at")
        .unique("seller_id", keep="last")
    )
    return s.to_pandas()


@pytest.fixture(scope="session")
def weekly_run(tiny_warehouse, smtp_server):
    """Every active seller's weekly report, sent once: ``(deliveries, {seller_id: parsed message})``."""
    from reports.deliver import send_reports

    results = send_reports("week", settings=get_settings())
    messages = {}
    for path in sorted(smtp_server.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["X-Lakehouse-Seller"]:
            messages[str(msg["X-Lakehouse-Seller"])] = msg
    return results, messages


def _parts(msg) -> dict:
    """html, pdf bytes, csv text, png count of a report message."""
    out = {"html": "", "pdf": b"", "csv": "", "png": 0}
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/html":
            out["html"] = part.get_content()
        elif ctype == "application/pdf":
            out["pdf"] = part.get_content()
        elif ctype == "text/csv":
            payload = part.get_payload(decode=True)
            out["csv"] = payload.decode("utf-8")
        elif ctype == "image/png":
            out["png"] += 1
    return out


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _period(timezone: str) -> tuple[date, date]:
    today = get_settings().now().astimezone(ZoneInfo(timezone)).date()
    start = today - timedelta(days=today.weekday() + 7)
    return start, start + timedelta(days=6)


def recompute_week(seller: pd.Series) -> dict:
    """Orders, units and GMV in home currency of the seller's last complete week, from silver order lines."""
    start, end = _period(seller.timezone)
    fx = fx_to_reporting(get_settings().reporting_currency)
    lines = read_polars(get_settings().paths.table("silver", "order_lines")).filter(
        (pl.col("seller_id") == seller.seller_id) & ~pl.col("is_cancelled")
    )
    lines = lines.with_columns(
        local_day=pl.col("order_created_at").dt.convert_time_zone(seller.timezone).dt.date(),
        home=pl.lit(seller.home_currency),
    ).filter(pl.col("local_day").is_between(start, end))
    lines = lines.join(
        fx.rename({"to_reporting": "cur_rate"}), left_on=["currency_code", "order_date"], right_on=["currency", "day"]
    )
    lines = lines.join(
        fx.rename({"to_reporting": "home_rate"}), left_on=["home", "order_date"], right_on=["currency", "day"]
    )
    gmv = (lines["line_value_original"].cast(pl.Float64) * lines["cur_rate"] / lines["home_rate"]).sum()
    return {
        "orders": lines["order_id"].n_unique(),
        "units": int(lines["quantity"].sum() or 0),
        "gmv_home": float(gmv or 0),
    }


def test_every_active_seller_gets_a_mail_with_attachments_that_open(weekly_run):
    results, messages = weekly_run
    sent = {r.seller_id for r in results if r.status == "sent"}
    assert sent, results
    assert not [r for r in results if r.status == "failed"]
    assert sent == set(messages), "a sent report did not arrive at the SMTP server (or one arrived unsent)"
    from pypdf import PdfReader

    for seller_id in sorted(sent)[:10]:
        parts = _parts(messages[seller_id])
        assert len(PdfReader(io.BytesIO(parts["pdf"])).pages) >= 1
        csv = pd.read_csv(io.StringIO(parts["csv"]))
        assert {"date_seller", "sku", "units", "gmv_home"} <= set(csv.columns)
        assert parts["png"] >= 1 and 'src="cid:daily_gmv"' in parts["html"]


def test_reports_never_contain_another_sellers_ids_names_or_skus(weekly_run, sellers_ref):
    """Property over every seller of the tiny world: HTML, PDF text and CSV name only the seller itself."""
    _, messages = weekly_run
    products = bronze("products").select("sku", "seller_id").unique().to_pandas()
    skus = products.groupby("seller_id").sku.apply(set).to_dict()
    names = dict(zip(sellers_ref.seller_id, sellers_ref.seller_name, strict=True))
    checked = 0
    for seller_id, msg in messages.items():
        parts = _parts(msg)
        texts = {"html": parts["html"], "pdf": _pdf_text(parts["pdf"]), "csv": parts["csv"]}
        for other, name in names.items():
            if other == seller_id:
                continue
            foreign = {other, name, *skus.get(other, set())}
            for kind, text in texts.items():
                leaked = sorted(x for x in foreign if x and x in text)
                assert not leaked, f"{seller_id}'s {kind} contains {other}'s {leaked[:3]}"
        csv_skus = set(pd.read_csv(io.StringIO(parts["csv"])).sku.astype(str))
        assert csv_skus <= skus.get(seller_id, set()), f"{seller_id}'s CSV has SKUs of others"
        checked += 1
    assert checked == len(messages) >= 20


def test_report_figures_equal_a_recomputation_from_silver(weekly_run, sellers_ref):
    from lakehouse.duck import session
    from reports.data import load_batch

    _, messages = weekly_run
    busy = [s for s in sellers_ref.itertuples() if s.seller_id in messages]
    checked = 0
    for seller in busy:
        want = recompute_week(pd.Series(seller._asdict()))
        if want["orders"] < 3:
            continue
        csv = pd.read_csv(io.StringIO(_parts(messages[seller.seller_id])["csv"]))
        start, end = _period(seller.timezone)
        week = csv[(csv.date_seller >= start.isoformat()) & (csv.date_seller <= end.isoformat())]
        assert week.units.sum() == want["units"], seller.seller_id
        assert week.gmv_home.sum() == pytest.approx(want["gmv_home"], rel=1e-6, abs=0.01), seller.seller_id
        with session() as con:
            rows = con.execute("select * from dim_seller where seller_id = ?", [seller.seller_id]).df()
            data = load_batch(con, rows, "week", get_settings().now())[0]
        assert int(data.current["orders"]) == want["orders"]
        assert float(data.current["gmv_home"]) == pytest.approx(want["gmv_home"], rel=1e-6, abs=0.01)
        # the GMV the narrative and KPI table print is the recomputed figure, formatted for the seller's locale
        from reports.i18n import Lang

        lang = Lang.for_seller(seller.language)
        assert lang.money(want["gmv_home"], seller.home_currency) in _parts(messages[seller.seller_id])["html"]
        checked += 1
        if checked == 4:
            break
    assert checked >= 2


def test_a_seller_without_sales_still_gets_a_report_saying_so(weekly_run, sellers_ref):
    from reports.i18n import Lang

    _, messages = weekly_run
    idle = [
        s
        for s in sellers_ref.itertuples()
        if s.seller_id in messages and recompute_week(pd.Series(s._asdict()))["orders"] == 0
    ]
    assert idle, "the tiny world should have a seller with no sales in the last week"
    for s in idle[:3]:
        lang = Lang.for_seller(s.language)
        start, end = _period(s.timezone)
        sentence = lang.t("no_sales", start=lang.date(start), end=lang.date(end))
        assert sentence in _parts(messages[s.seller_id])["html"]


def _active_cohorts(sellers_ref: pd.DataFrame) -> pd.DataFrame:
    """Independent cohort sizes: sellers of a main category with an order or a product-view session in the market
    in the (seller-local) week: ``main_category, market_code, period_start, cohort_size``."""
    paths = get_settings().paths
    lines = read_polars(paths.table("silver", "order_lines")).filter(~pl.col("is_cancelled"))
    lines = lines.select("seller_id", "market_code", ts=pl.col("order_created_at"))
    products = bronze("products")
    products = (
        products.filter(pl.col("snapshot_date") == products["snapshot_date"].max()).select("sku", "seller_id").unique()
    )
    views = (
        bronze("clicks")
        .filter(pl.col("event_name") == "product_view")
        .select("session_id", sku=pl.col("product_id"))
        .unique()
        .join(products, on="sku")
        .join(
            read_polars(paths.table("silver", "sessions")).select("session_id", "session_start", "market_code"),
            on="session_id",
        )
        .select("seller_id", "market_code", ts=pl.col("session_start"))
    )
    both = pl.concat([lines, views])
    frames = []
    for s in sellers_ref.itertuples():
        mine = both.filter(pl.col("seller_id") == s.seller_id)
        if mine.height:
            day = mine["ts"].dt.convert_time_zone(s.timezone).dt.date()
            frames.append(
                mine.with_columns(
                    period_start=day - pl.duration(days=day.dt.weekday() - 1), main_category=pl.lit(s.main_category)
                )
                .select("seller_id", "market_code", "period_start", "main_category")
                .unique()
            )
    active = pl.concat(frames)
    return active.group_by("main_category", "market_code", "period_start").agg(cohort_size=pl.len()).to_pandas()


def test_benchmarks_only_for_cohorts_of_five_or_more(weekly_run, sellers_ref):
    from lakehouse.duck import session

    _, messages = weekly_run
    with session() as con:
        bench = con.execute(
            "select b.*, s.plan_tier from seller_benchmarks b join dim_seller s using (seller_id) "
            "where b.period_type = 'week'"
        ).df()
    assert (bench.cohort_size >= 5).any() and (bench.cohort_size < 5).any(), "tiny world must exercise both"
    assert bench[bench.cohort_size < 5].percentile.isna().all() and not bench[bench.cohort_size < 5].is_shown.any()
    assert bench[bench.cohort_size >= 5].percentile.between(0, 1).all()

    want = _active_cohorts(sellers_ref)
    want["period_start"] = pd.to_datetime(want.period_start).dt.date
    got = bench[bench.metric == "orders"][
        ["main_category", "market_code", "period_start", "cohort_size"]
    ].drop_duplicates()
    got["period_start"] = pd.to_datetime(got.period_start).dt.date
    merged = got.merge(want, on=["main_category", "market_code", "period_start"], how="outer", suffixes=("", "_want"))
    assert (merged.cohort_size == merged.cohort_size_want).all(), merged[merged.cohort_size != merged.cohort_size_want]

    shown_lines = 0
    for seller_id, msg in messages.items():
        html = _parts(msg)["html"]
        items = re.findall(r'<ul class="benchmarks">(.*?)</ul>', html, re.S)
        lines = re.findall(r"<li>", items[0]) if items else []
        mine = bench[bench.seller_id == seller_id]
        tier = mine.plan_tier.iloc[0] if len(mine) else "free"
        start, _ = _period(sellers_ref.set_index("seller_id").timezone[seller_id])
        expected = mine[(pd.to_datetime(mine.period_start).dt.date == start) & (mine.cohort_size >= 5)]
        if tier == "free":
            assert not lines, seller_id
        else:
            assert len(lines) == len(expected), seller_id
            shown_lines += len(lines)
    assert shown_lines > 0


def test_chinese_pdf_embeds_a_cjk_font_and_holds_the_chinese_narrative(weekly_run, sellers_ref):
    from pypdf import PdfReader

    from reports.i18n import Lang

    _, messages = weekly_run
    zh = [s for s in sellers_ref.itertuples() if s.language == "zh" and s.seller_id in messages]
    assert zh
    msg = messages[zh[0].seller_id]
    parts = _parts(msg)
    reader = PdfReader(io.BytesIO(parts["pdf"]))
    families = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            descriptors = [descriptor.get_object()] if descriptor else []
            for d in font.get("/DescendantFonts", []):
                descriptors.append(d.get_object()["/FontDescriptor"].get_object())
            embedded = "/CharProcs" in font or any(
                k in d for d in descriptors for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            for d in descriptors:
                if embedded:
                    families.add(str(d.get("/FontFamily") or d.get("/FontName")))
    assert any("CJK" in f for f in families), families
    text = CJK_RADICALS.sub("?", _pdf_text(parts["pdf"]).replace("\n", "").replace(" ", ""))
    lang = Lang("zh", "zh")
    title = lang.t("title_week")
    assert title in text
    summary = re.sub(r"<[^>]+>", "", re.search(r'<p class="summary">(.*?)</p>', parts["html"], re.S).group(1))
    import html as html_lib

    expected = html_lib.unescape(summary).replace(" ", "")
    assert re.search(r"[\u4e00-\u9fff]", expected)
    pattern = "".join("." if re.match(r"[\u4e00-\u9fff]", ch) else re.escape(ch) for ch in expected)
    assert re.search(pattern, text), (expected, text[:400])
    assert "\ufffd" not in text and "□" not in text


def test_rerun_does_not_resend_unless_forced(weekly_run, smtp_server):
    from reports.deliver import log_path, send_reports

    _, messages = weekly_run
    seller = sorted(messages)[0]
    before = len(list(smtp_server.glob("*.eml")))
    again = send_reports("week", [seller])
    assert [r.status for r in again] == ["skipped_sent"]
    assert len(list(smtp_server.glob("*.eml"))) == before
    forced = send_reports("week", [seller], force=True)
    assert [r.status for r in forced] == ["sent"]
    assert len(list(smtp_server.glob("*.eml"))) == before + 1
    log = read_pandas(log_path(get_settings()))
    mine = log[(log.seller_id == seller) & (log.status == "sent")]
    assert len(mine) == 2 and mine.attempts.min() >= 1 and mine.message_id.str.len().min() > 5


def test_failed_delivery_is_logged_alerts_the_admin_and_raises(weekly_run, lakehouse_home):
    """A server that refuses the seller's address but accepts the admin's: retries, then failure + admin alert."""
    from aiosmtpd.controller import Controller

    from reports.deliver import DeliveryError, log_path, send_reports
    from reports.smtp_server import MailboxHandler

    settings = get_settings()

    class RefuseSellers(MailboxHandler):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address != settings.admin_email:
                return "550 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    port = free_port()
    box = lakehouse_home / "refusing-mail"
    controller = Controller(RefuseSellers(box), hostname="127.0.0.1", port=port)
    controller.start()
    os.environ["LAKEHOUSE_SMTP_PORT"] = str(port)
    reset_settings()
    try:
        seller = sorted(weekly_run[1])[1]
        with pytest.raises(DeliveryError, match=seller):
            send_reports("week", [seller], force=True)
    finally:
        controller.stop()
        os.environ["LAKEHOUSE_SMTP_PORT"] = str(settings.smtp_port)
        reset_settings()
    log = read_pandas(log_path(get_settings()))
    failed = log[(log.seller_id == seller) & (log.status == "failed")]
    assert len(failed) == 1 and failed.attempts.iloc[0] == 3 and "550" in failed.error.iloc[0]
    alerts = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in box.glob("*.eml")]
    assert any(seller in a.get_content() for a in alerts if not a.is_multipart())


def test_insights_tables_keep_zero_rows_and_drivers_add_up(tiny_warehouse):
    from lakehouse.duck import session

    with session() as con:
        sku_days = con.execute(
            "select count(*), count(distinct sku), count(distinct date_seller), sum((units = 0)::int) "
            "from seller_sku_daily"
        ).fetchone()
        n_skus = con.execute("select count(distinct sku) from seller_sku_daily").fetchone()[0]
        gap = con.execute(
            "select max(abs(f.total - (s.gmv_home - s.gmv_home_previous))) from "
            "(select seller_id, period_type, period_start, sum(change_home) total from seller_drivers "
            " where dimension = 'factor' group by all) f "
            "join seller_scorecard s using (seller_id, period_type, period_start)"
        ).fetchone()[0]
        health = con.execute("select min(health_score), max(health_score) from seller_scorecard").fetchone()
    rows, skus, days, zeros = sku_days
    assert rows == skus * days == n_skus * days  # every SKU on every day
    assert zeros > 0
    assert gap is not None and gap < 1e-6
    assert 0 <= health[0] <= health[1] <= 100


def test_due_batches_follow_each_sellers_local_nine_oclock():
    from reports.schedule import due_batches, due_periods

    monday_9_shanghai = datetime(2026, 6, 1, 1, 0, tzinfo=ZoneInfo("UTC"))  # 1 June 2026 is a Monday
    assert due_periods("enterprise", "Asia/Shanghai", monday_9_shanghai) == ["day", "week", "month"]
    assert due_periods("free", "Asia/Shanghai", monday_9_shanghai) == ["week"]
    assert due_periods("pro", "America/Los_Angeles", monday_9_shanghai) == []
    la = datetime(2026, 6, 1, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert due_periods("pro", "America/Los_Angeles", la) == ["week", "month"]
    sellers = [{"seller_id": f"S{i}", "plan_tier": "free", "seller_timezone": "Asia/Shanghai"} for i in range(30)]
    batches = due_batches(sellers, monday_9_shanghai, batch_size=25)
    assert [(b["period"], len(b["sellers"])) for b in batches] == [("week", 25), ("week", 5)]


def test_overdue_periods_are_those_whose_nine_oclock_has_passed():
    from reports.schedule import due_batches, overdue_periods

    monday_8_shanghai = datetime(2026, 6, 1, 0, 0, tzinfo=ZoneInfo("UTC"))  # Monday 1 June, 08:00 in Shanghai
    assert overdue_periods("enterprise", "Asia/Shanghai", monday_8_shanghai) == []
    monday_9_shanghai = datetime(2026, 6, 1, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert overdue_periods("enterprise", "Asia/Shanghai", monday_9_shanghai) == ["day", "week", "month"]
    tuesday_3 = datetime(2026, 6, 1, 19, 0, tzinfo=ZoneInfo("UTC"))  # Tuesday 03:00 in Shanghai
    assert overdue_periods("enterprise", "Asia/Shanghai", tuesday_3) == ["week", "month"]
    assert overdue_periods("free", "Asia/Shanghai", tuesday_3) == ["week"]
    sellers = [{"seller_id": f"S{i}", "plan_tier": "pro", "seller_timezone": "Asia/Shanghai"} for i in range(3)]
    batches = due_batches(sellers, tuesday_3, periods=overdue_periods)
    assert [(b["period"], len(b["sellers"])) for b in batches] == [("week", 3), ("month", 3)]


def test_executive_digest_arrives_with_headline_kpis_and_quality(weekly_run, smtp_server):
    from reports.digest import send_digest

    settings = get_settings()
    before = set(smtp_server.glob("*.eml"))
    assert send_digest(settings) == settings.admin_email
    new = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in set(smtp_server.glob("*.eml")) - before
    ]
    assert len(new) == 1 and new[0]["Subject"].startswith("Executive weekly digest")
    html = new[0].get_body(("html",)).get_content()
    for text in ("GMV", "Orders", "Top movers", "Data quality", "pass"):
        assert text in html


def test_forecast_section_states_the_forecasting_jobs_units(weekly_run, sellers_ref):
    """A pro report's forecast line equals the seller's own SKUs' point forecasts in the forecasting job's
    gold/forecasts (every market) over the 28 days after the report period, recomputed here from the Delta table."""
    from reports.i18n import Lang

    _, messages = weekly_run
    pro = [
        s for s in sellers_ref.itertuples() if s.plan_tier == "pro" and s.language == "en" and s.seller_id in messages
    ]
    assert pro, "the tiny world has pro sellers with English reports"
    forecasts = read_polars(get_settings().paths.table("gold", "forecasts"))
    checked = 0
    for seller in pro:
        _, end = _period(seller.timezone)
        mine = forecasts.filter(
            (pl.col("seller_id") == seller.seller_id)
            & (pl.col("ds").cast(pl.Date) > end)
            & (pl.col("ds").cast(pl.Date) <= end + timedelta(days=28))
        )
        html = _parts(messages[seller.seller_id])["html"]
        lang = Lang("en", "en")
        assert lang.t("forecasts_missing") not in html
        if mine.is_empty():
            continue
        days = mine["ds"].n_unique()
        want = lang.t("forecast_line", days=days, units=lang.number(float(mine["point"].sum())))
        assert want in html, f"{seller.seller_id}: {want!r} not in the report"
        checked += 1
    assert checked, "no pro seller had forecast days after its report period"
