"""Send seller reports: render a batch, mail each over SMTP (settings: host, port, STARTTLS, login) with retries and
backoff, record every attempt in the delivery log (a Delta table), alert the admin address on failures.

A seller and period already delivered (status ``sent`` in the log) is not sent again unless ``force``.
"""

from __future__ import annotations

import contextlib
import queue
import smtplib
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pyarrow as pa

from lakehouse import delta
from lakehouse.mail import Mailer, send_admin
from lakehouse.settings import Settings, get_settings
from reports.data import PERIODS, ReportData, load_batch, sellers
from reports.pdf import PdfPrinter
from reports.render import RenderedReport, render

LOG_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("seller_id", pa.string()),
        ("report_kind", pa.string()),
        ("period_type", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("recipients", pa.string()),
        ("status", pa.string()),  # sent | failed | skipped_sent | skipped_plan | dry_run
        ("attempts", pa.int32()),
        ("message_id", pa.string()),
        ("error", pa.string()),
        ("logged_at", pa.timestamp("us", tz="UTC")),
    ]
)


class DeliveryError(RuntimeError):
    """At least one report could not be delivered (details in the delivery log; the admin was alerted)."""


@dataclass
class Delivery:
    seller_id: str
    period_type: str
    period_start: str
    period_end: str
    recipients: str
    status: str
    attempts: int = 0
    message_id: str = ""
    error: str = ""
    report_kind: str = "seller"


def log_path(settings: Settings) -> Path:
    return settings.paths.reports / "delivery_log"


def delivered(settings: Settings, period_type: str) -> set[tuple[str, str]]:
    """(seller_id, period_start) already sent for ``period_type``."""
    path = log_path(settings)
    if not delta.table_exists(path):
        return set()
    t = delta.read_pandas(path, columns=["seller_id", "period_type", "period_start", "status"])
    t = t[(t.status == "sent") & (t.period_type == period_type)]
    return {(r.seller_id, str(r.period_start)) for r in t.itertuples()}


def write_log(settings: Settings, rows: Sequence[Delivery], run_id: str) -> None:
    if not rows:
        return
    now = datetime.now(UTC)
    data = {name: [] for name in LOG_SCHEMA.names}
    for r in rows:
        d = asdict(r)
        for name in LOG_SCHEMA.names:
            if name == "run_id":
                data[name].append(run_id)
            elif name == "logged_at":
                data[name].append(now)
            elif name in ("period_start", "period_end"):
                data[name].append(datetime.fromisoformat(d[name]).date() if d[name] else None)
            else:
                data[name].append(d[name])
    delta.write(log_path(settings), pa.table(data, schema=LOG_SCHEMA), mode="append")


def build_message(report: RenderedReport, sender: str, recipients: list[str]) -> EmailMessage:
    """multipart/mixed: the HTML body with its charts as related parts, the PDF and the CSV attached."""
    msg = EmailMessage()
    msg["Subject"] = report.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or "lakehouse.local")
    msg["X-Lakehouse-Seller"] = report.seller_id
    msg["X-Lakehouse-Period"] = f"{report.period_type}:{report.period_start}"
    msg.set_content(" ".join(report.narrative) or report.subject)
    msg.add_alternative(report.html, subtype="html")
    html_part = msg.get_payload()[-1]
    for name, png in report.images.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=f"<{name}>", filename=f"{name}.png")
    if report.pdf:
        msg.add_attachment(report.pdf, maintype="application", subtype="pdf", filename=f"{report.basename}.pdf")
    msg.add_attachment(report.csv, maintype="text", subtype="csv", filename=f"{report.basename}.csv")
    return msg


def in_plan(tier: str, period_type: str) -> bool:
    """free: weekly; pro: weekly and monthly; enterprise: + daily."""
    if period_type == "day":
        return tier == "enterprise"
    if period_type == "month":
        return tier in ("pro", "enterprise")
    return True


def send_reports(
    period_type: str = "week",
    seller_ids: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    settings: Settings | None = None,
    echo: Callable[[str], None] | None = None,
    out_dir: Path | None = None,
    workers: int = 2,
    raise_on_failure: bool = True,
) -> list[Delivery]:
    """Render and send the ``period_type`` reports of the given sellers (default: every active seller).

    ``dry_run`` renders and writes the files to ``out_dir`` (default ``LAKEHOUSE_HOME/reports/out``) without
    mailing or logging. Returns one :class:`Delivery` per seller; raises :class:`DeliveryError` after logging and
    alerting when any send failed (with ``raise_on_failure``).
    """
    from lakehouse.duck import connect

    if period_type not in PERIODS:
        raise ValueError(f"unknown period {period_type!r}; expected one of {', '.join(PERIODS)}")
    settings = settings or get_settings()
    echo = echo or (lambda line: None)
    run_id = f"reports-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if not settings.paths.warehouse_file.exists():
        raise FileNotFoundError(
            f"no published warehouse at {settings.paths.warehouse_file}; run `lakehouse build` and `lakehouse publish`"
        )
    con = connect(settings=settings)
    try:
        rows = sellers(con, list(seller_ids) if seller_ids else None)
        published_at = _published_at(settings)
        batch = load_batch(con, rows, period_type, settings.now(), published_at)
    finally:
        con.close()
    done = set() if force or dry_run else delivered(settings, period_type)
    results: list[Delivery] = []
    todo: list[ReportData] = []
    for data in batch:
        email = str(data.seller.get("report_email") or "")
        base = Delivery(
            data.seller_id, period_type, data.period_start.isoformat(), data.period_end.isoformat(), email, ""
        )
        if not in_plan(data.tier, period_type):
            base.status = "skipped_plan"
            results.append(base)
        elif (data.seller_id, data.period_start.isoformat()) in done:
            base.status = "skipped_sent"
            results.append(base)
        elif not email:
            base.status, base.error = "failed", "seller has no report_email in dim_seller"
            results.append(base)
        else:
            todo.append(data)
    if dry_run:
        out_dir = out_dir or settings.paths.reports / "out"
        out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    mailer = None if dry_run else Mailer(settings)
    try:
        # one Chromium per worker thread (each prints one page at a time); mail goes out in order
        with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            printers: queue.Queue[PdfPrinter] = queue.Queue()
            for _ in range(min(max(1, workers), len(todo))):
                printers.put(stack.enter_context(PdfPrinter()))

            def render_one(data: ReportData) -> RenderedReport:
                printer = printers.get()
                try:
                    return render(data, printer)
                finally:
                    printers.put(printer)

            for n, report in enumerate(pool.map(render_one, todo), start=1):
                email = str(next(d for d in todo if d.seller_id == report.seller_id).seller["report_email"])
                delivery = Delivery(report.seller_id, period_type, report.period_start, report.period_end, email, "")
                if dry_run:
                    for suffix, payload in (
                        ("html", report.pdf_html.encode()),
                        ("pdf", report.pdf),
                        ("csv", report.csv),
                    ):
                        (out_dir / f"{report.basename}.{suffix}").write_bytes(payload)  # type: ignore[operator]
                    delivery.status = "dry_run"
                else:
                    assert mailer is not None
                    msg = build_message(report, settings.mail_from, [email])
                    delivery.message_id = str(msg["Message-ID"])
                    try:
                        delivery.attempts = mailer.send(msg)
                        delivery.status = "sent"
                    except (smtplib.SMTPException, OSError) as exc:
                        delivery.status, delivery.attempts = "failed", mailer.retries
                        delivery.error = f"{type(exc).__name__}: {exc}"
                results.append(delivery)
                echo(f"[{n}/{len(todo)}] {report.seller_id} {period_type} {report.period_start}: {delivery.status}")
    finally:
        if mailer is not None:
            mailer.close()
    echo(f"{len(todo)} report(s) rendered in {time.perf_counter() - started:.1f}s")
    if not dry_run:
        write_log(settings, [r for r in results if r.status != "skipped_sent"], run_id)
    failed = [r for r in results if r.status == "failed"]
    if failed and not dry_run:
        alert_admin(settings, failed, run_id)
        if raise_on_failure:
            raise DeliveryError(
                f"{len(failed)} of {len(results)} report(s) failed ({run_id}): "
                + "; ".join(f"{r.seller_id}: {r.error}" for r in failed[:5])
                + f"; see the delivery log {log_path(settings)}"
            )
    return results


def alert_admin(settings: Settings, failed: Sequence[Delivery], run_id: str) -> bool:
    """Mail the admin address a list of failed deliveries (best effort: True when it was sent)."""
    return send_admin(
        f"{len(failed)} seller report(s) failed ({run_id})",
        "\n".join(f"{r.seller_id} {r.period_type} {r.period_start} -> {r.recipients}: {r.error}" for r in failed)
        + f"\n\nDelivery log: {log_path(settings)}\nRe-run: lakehouse reports send --period {failed[0].period_type}\n",
        settings,
    )


def _published_at(settings: Settings) -> str:
    import json

    from lakehouse.warehouse import files

    manifest = files(settings).manifest
    if manifest.exists():
        try:
            return str(json.loads(manifest.read_text()).get("published_at", ""))[:19]
        except ValueError:
            return ""
    return ""
