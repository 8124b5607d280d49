"""Outgoing mail through the configured SMTP server (settings: host, port, STARTTLS, login): one connection reused
for a batch, retries with exponential backoff, and the admin alerts that reports and Airflow failures send."""

from __future__ import annotations

import contextlib
import smtplib
import time
from email.message import EmailMessage

from lakehouse.settings import Settings, get_settings

RETRIES = 3
BACKOFF_SECONDS = 1.0  # doubled after each failed attempt


class Mailer:
    """One SMTP connection reused for a batch, reconnecting after errors; retries with exponential backoff."""

    def __init__(self, settings: Settings, retries: int = RETRIES, backoff: float = BACKOFF_SECONDS):
        self.settings = settings
        self.retries = retries
        self.backoff = backoff
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30)
        if s.smtp_tls:
            smtp.starttls()
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password)
        return smtp

    def send(self, msg: EmailMessage) -> int:
        """Send; returns the attempts used. Raises the last error when every attempt failed."""
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.send_message(msg)
                return attempt
            except (smtplib.SMTPException, OSError):
                self.close()
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None


def send_admin(subject: str, body: str, settings: Settings | None = None) -> bool:
    """Mail the admin address (best effort: True when it was sent, False when the SMTP server refused or was down)."""
    settings = settings or get_settings()
    msg = EmailMessage()
    msg["Subject"] = f"[lakehouse] {subject}"
    msg["From"] = settings.mail_from
    msg["To"] = settings.admin_email
    msg.set_content(body)
    try:
        Mailer(settings, retries=2, backoff=0.5).send(msg)
    except (smtplib.SMTPException, OSError):
        return False
    return True
