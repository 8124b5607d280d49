"""Seller reports at demo scale: render (HTML + PNG charts + PDF + CSV) and send every seller's weekly report to a
local SMTP server. Goal: all ~200 demo sellers within 2 minutes. Baseline in the same run: the same batch rendered
without PDFs and without mailing (data, narrative, charts, HTML, CSV)."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.harness import BenchContext, Result, benchmark

GOAL_SECONDS = 120


def _published_home(ctx: BenchContext) -> Path:
    """The LAKEHOUSE_HOME of the demo warehouse built by bench_warehouse (built here when run alone)."""
    from benchmarks import bench_warehouse

    built = ctx.workdir.parent / "bench_warehouse.warehouse_build" / "published"
    if built.exists():
        return Path(built.read_text()).parent.parent
    bench_warehouse.warehouse_build(ctx)
    return Path((ctx.workdir / "published").read_text()).parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@benchmark
def weekly_reports(ctx: BenchContext) -> Result:
    import json

    from benchmarks.harness import shared_landing

    home = _published_home(ctx)
    truth = shared_landing(ctx) / "_simulator" / "ground_truth.json"
    end = json.loads(truth.read_text())["parameters"]["end"]
    as_of = datetime.fromisoformat(f"{end}T12:00:00+00:00") + timedelta(days=1)
    return measure(replace(ctx.settings, home=home, as_of=as_of), ctx.scratch("mail"))


def measure(settings, mail_dir: Path) -> Result:
    """Baseline then the full run for the published warehouse of ``settings.home`` (mail stored in ``mail_dir``)."""
    from reports.data import load_batch, sellers
    from reports.deliver import send_reports
    from reports.render import render
    from reports.smtp_server import start

    port = _free_port()
    settings = replace(settings, smtp_port=port)
    controller = start(port, mail_dir)
    try:
        from lakehouse.duck import connect

        started = time.perf_counter()
        con = connect(settings=settings)
        try:
            batch = load_batch(con, sellers(con), "week", settings.now())
        finally:
            con.close()
        for data in batch:
            render(data)
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        results = send_reports("week", force=True, settings=settings)
        seconds = time.perf_counter() - started
    finally:
        controller.stop()
    sent = sum(r.status == "sent" for r in results)
    mails = len(list(mail_dir.glob("*.eml")))
    return Result(
        name=f"weekly seller reports rendered (HTML, charts, PDF, CSV) and sent over SMTP, {sent} sellers",
        value=seconds,
        unit="s",
        baseline="the same reports without PDF and mail (data, charts, HTML, CSV), same run",
        baseline_value=baseline,
        goal=f"<= {GOAL_SECONDS} s",
        passed=seconds <= GOAL_SECONDS and sent == mails,
        extra={
            "sellers": len(results),
            "sent": sent,
            "stored_messages": mails,
            "statuses": sorted({r.status for r in results}),
            "per_report_seconds": round(seconds / max(sent, 1), 3),
        },
    )
