"""The local SMTP server of ``lakehouse smtp up``: aiosmtpd on 127.0.0.1 storing every message it receives as
an ``.eml`` file under ``LAKEHOUSE_HOME/mail/`` (open it with any mail client). For development and tests; no
relaying, no authentication.

``python -m reports.smtp_server --port 8025 --mail-dir DIR`` runs it in the foreground.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller

    from lakehouse.settings import Settings

SERVICE = "smtp"


class MailboxHandler:
    """Writes each message to ``<mail_dir>/<UTC time>-<n>.eml`` (atomically: a reader never sees half a file)."""

    def __init__(self, mail_dir: Path):
        self.mail_dir = mail_dir
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self._count += 1
            name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{self._count:06d}.eml"
        tmp = self.mail_dir / f".{name}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.replace(self.mail_dir / name)
        return "250 Message accepted for delivery"


def start(port: int, mail_dir: Path, host: str = "127.0.0.1") -> Controller:
    """Start the server in a background thread (``controller.stop()`` ends it)."""
    from aiosmtpd.controller import Controller

    controller = Controller(MailboxHandler(mail_dir), hostname=host, port=port, data_size_limit=50 * 1024 * 1024)
    controller.start()
    return controller


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def up(settings: Settings, wait: float = 15.0) -> int:
    """Start the server as a background service (pid file ``run/smtp.pid``, idempotent) and wait until it listens;
    returns its pid."""
    from lakehouse.services import running_services, start_service, stop_service

    already = SERVICE in running_services(settings)
    argv = [sys.executable, "-m", "reports.smtp_server", "--port", str(settings.smtp_port)]
    pid = start_service(SERVICE, [*argv, "--mail-dir", str(settings.paths.mail)], settings=settings)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if listening(settings.smtp_port):
            return pid
        if SERVICE not in running_services(settings):
            break
        time.sleep(0.2)
    if not already:
        stop_service(SERVICE, settings)
    raise RuntimeError(
        f"smtp (pid {pid}) is not listening on 127.0.0.1:{settings.smtp_port}; see {settings.paths.logs}/smtp.log"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mail-dir", type=Path, required=True)
    args = parser.parse_args()
    controller = start(args.port, args.mail_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"smtp listening on 127.0.0.1:{args.port}, storing mail in {args.mail_dir}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
