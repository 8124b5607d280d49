"""HTML -> PDF with one headless Chromium kept open (DevTools protocol over ``--remote-debugging-pipe``).

Starting Chromium costs ~1 s; printing a page over the pipe ~0.1-0.3 s, so a batch of reports shares one
browser. Fonts come from the system (fonts-noto-cjk): Chromium embeds the subset of every font it uses, so a
Chinese report's PDF carries Noto Sans CJK. Nothing is fetched: pages are local files and the browser runs with
networking features off.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class PdfError(RuntimeError):
    """Chromium could not be started or could not print a page."""


def chromium_path() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("no Chromium found (apt-get install chromium); it renders the report PDFs")


class PdfPrinter:
    """``with PdfPrinter() as p: p.print_html(html_file, pdf_file)`` — one browser for many pages (thread-safe)."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self._proc: subprocess.Popen | None = None
        self._profile: tempfile.TemporaryDirectory | None = None
        self._lock = threading.Lock()
        self._next_id = 0
        self._buffer = b""
        self._session: str | None = None  # the one tab every page is printed in (a new tab costs a renderer)

    def __enter__(self) -> PdfPrinter:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="lakehouse-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and writes replies on fd 4
            # via fds >= 10 first, so neither dup2 overwrites the other pipe's end when that end is 3 or 4;
            # dup2 makes 3 and 4 inheritable, and every other fd of ours is close-on-exec (Python's default)
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.close(high_r)
            os.close(high_w)

        try:
            # not pass_fds=(3, 4): Python marks those inheritable *before* preexec_fn runs, which fails with
            # EBADF in a long-lived process (a whole pipeline) where fd 3 or 4 happens to be closed
            self._proc = subprocess.Popen(
                [chromium_path(), *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=child_fds,
                close_fds=False,
                start_new_session=True,
            )
        finally:
            os.close(to_chrome_r)
            os.close(from_chrome_w)
        self._out = os.fdopen(to_chrome_w, "wb", buffering=0)
        self._in = os.fdopen(from_chrome_r, "rb", buffering=0)
        self._call("Target.setDiscoverTargets", {"discover": False})
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", {}, self._session)

    def close(self) -> None:
        self._session = None
        if self._proc is not None:
            with contextlib.suppress(OSError, PdfError):
                self._call("Browser.close", {}, wait=False)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            for f in (self._out, self._in):
                with contextlib.suppress(OSError):
                    f.close()
            self._proc = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    # --- protocol -------------------------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        self._out.write(json.dumps(message).encode() + b"\0")

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = self._in.read(1 << 20)
            if not chunk:
                raise PdfError("Chromium closed the DevTools pipe (crashed or was killed)")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def _call(
        self, method: str, params: dict, session: str | None = None, wait: bool = True, until_event: str = ""
    ) -> dict:
        """Send a command and return its result (and, with ``until_event``, wait for that event after it)."""
        self._next_id += 1
        msg_id = self._next_id
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._send(message)
        if not wait:
            return {}
        result: dict | None = None
        seen_event = not until_event
        while result is None or not seen_event:
            reply = self._read()
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise PdfError(f"Chromium {method} failed: {reply['error']}")
                result = reply.get("result", {})
            elif until_event and reply.get("method") == until_event and reply.get("sessionId") == session:
                seen_event = True
        return result

    def print_html(self, html_file: Path, pdf_file: Path) -> Path:
        """Print a local HTML file to ``pdf_file`` (A4, backgrounds on) and return it."""
        with self._lock:
            if self._proc is None or self._session is None:
                raise PdfError("PdfPrinter is not started")
            session = self._session
            self._call(
                "Page.navigate", {"url": Path(html_file).resolve().as_uri()}, session, until_event="Page.loadEventFired"
            )
            data = self._call(
                "Page.printToPDF",
                {
                    "printBackground": True,
                    "paperWidth": 8.27,
                    "paperHeight": 11.69,
                    "marginTop": 0.5,
                    "marginBottom": 0.5,
                    "marginLeft": 0.5,
                    "marginRight": 0.5,
                },
                session,
            )["data"]
        pdf_file.write_bytes(base64.b64decode(data))
        return pdf_file
