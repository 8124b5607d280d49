"""Headless Chromium prints PDFs over its debugging pipe (fds 3 and 4 of the browser) from any process: also
from a long-lived one whose own fds 3 and 4 are closed, as in a whole pipeline run in one process."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import fcntl, os, sys
from pathlib import Path
from reports.pdf import PdfPrinter
out = Path(sys.argv[1])
html = out / "page.html"
html.write_text("<html><body><h1>Weekly report</h1><p>GMV 1,234 USD</p></body></html>")
# a long-lived process: its pipes get high fds while fds 3 and 4 are free (another thread closed them)
real_pipe = os.pipe
def high_pipe():
    r, w = real_pipe()
    high = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 20), fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 20)
    os.close(r)
    os.close(w)
    return high
os.pipe = high_pipe
for fd in (3, 4):
    try:
        os.close(fd)
    except OSError:
        pass
with PdfPrinter() as printer:
    for i in range(2):
        printer.print_html(html, out / f"page{i}.pdf")
print("ok")
"""


def test_prints_when_the_parents_fds_3_and_4_are_closed(tmp_path):
    result = subprocess.run([sys.executable, "-c", CODE, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    for i in range(2):
        pdf = (tmp_path / f"page{i}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 1000


def test_one_printer_prints_each_page_it_is_given(tmp_path):
    """The printer keeps one tab open for every page: each PDF has its own page's text, none the page before."""
    from pypdf import PdfReader

    from reports.pdf import PdfPrinter

    pages = {"alpha": "Seller S100001 weekly", "beta": "Seller S100002 monthly", "gamma": "Seller S100003 daily"}
    with PdfPrinter() as printer:
        for name, text in pages.items():
            html = tmp_path / f"{name}.html"
            html.write_text(f"<html><body><h1>{text}</h1></body></html>")
            printer.print_html(html, tmp_path / f"{name}.pdf")
    for name, text in pages.items():
        extracted = "".join(p.extract_text() for p in PdfReader(tmp_path / f"{name}.pdf").pages)
        assert text in extracted
        assert not any(other in extracted for other in pages.values() if other != text)
