"""`lakehouse smtp up|down`: a real local SMTP server on 127.0.0.1 that stores each message as .eml."""

from __future__ import annotations

import email
import os
import smtplib
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration


def test_smtp_up_stores_messages_and_down_stops_it(lakehouse_home: Path):
    port = free_port()
    env = {**os.environ, "LAKEHOUSE_SMTP_PORT": str(port)}
    lakehouse = [sys.executable, "-m", "lakehouse"]
    up = subprocess.run([*lakehouse, "smtp", "up"], env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert f"127.0.0.1:{port}" in up.stdout
    try:
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = "hello", "a@lakehouse.local", "b@lakehouse.local"
        msg.set_content("body")
        msg.add_attachment(b"x,y\n1,2\n", maintype="text", subtype="csv", filename="t.csv")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(msg)
        mail_dir = lakehouse_home / "mail"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not list(mail_dir.glob("*.eml")):
            time.sleep(0.1)
        stored = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in mail_dir.glob("*.eml")]
        assert [m["Subject"] for m in stored] == ["hello"]
        attachment = next(stored[0].iter_attachments())
        assert attachment.get_content() == "x,y\n1,2\n"
    finally:
        down = subprocess.run([*lakehouse, "smtp", "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and "smtp stopped" in down.stdout
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=2)
