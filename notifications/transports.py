"""How messages leave: e-mail by SMTP, text messages through an SMS provider. Each transport
raises :class:`DeliveryFailed` with a code when a message did not go, so the worker retries it.

The SMS provider is a small interface; the file sink (development) appends each message to a
local JSON-lines file instead of sending it. A city plugs its provider in behind ``SmsProvider``.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from cityid.settings import Settings
from notifications.i18n import Rendered


class DeliveryFailed(Exception):
    """A message did not go; ``code`` says why, in words an audit or log may hold."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class MailTransport(Protocol):
    def send_mail(self, to: str, message: Rendered) -> None: ...


class SmsProvider(Protocol):
    def send_sms(self, to: str, text: str) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_seconds: float = 10.0


class SmtpMail:
    """One SMTP connection per message: the worker sends few, and a connection kept open across
    a server restart would fail the next message for no reason of its own."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send_mail(self, to: str, message: Rendered) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.sender, to, message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        mail.set_content(message.body)
        # After set_content, which replaces every Content-* header.
        mail["Content-Language"] = message.lang
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("smtp_recipient_refused") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"smtp_{exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError):
            raise DeliveryFailed("smtp_unavailable") from None


class FileSink:
    """Development transport for both channels: one JSON line per message in a 0600 file. It
    holds recipients and codes in the clear, so settings refuse it outside development."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, record: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line)

    def send_mail(self, to: str, message: Rendered) -> None:
        self._append({"channel": "email", "to": to, "subject": message.subject,
                      "body": message.body, "lang": message.lang})

    def send_sms(self, to: str, text: str) -> None:
        self._append({"channel": "sms", "to": to, "body": text})


class NoSmsProvider:
    def send_sms(self, to: str, text: str) -> None:
        raise DeliveryFailed("sms_not_configured")


@dataclass(frozen=True)
class Transports:
    mail: MailTransport
    sms: SmsProvider


def transports_for(settings: Settings) -> Transports:
    """SMTP when a host is configured; otherwise, in development only, the file sink."""
    sink = FileSink(settings.data_dir / "outbox-sink.jsonl")
    if settings.smtp_host:
        mail: MailTransport = SmtpMail(SmtpSettings(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
            username=settings.smtp_username, password=settings.smtp_password,
            starttls=settings.smtp_starttls))
    elif settings.env == "development":
        mail = sink
    else:
        raise RuntimeError("CITYID_SMTP_HOST is needed outside development: the file sink "
                           "would keep recipients and codes in the clear")
    # No production SMS provider is built yet: text messages then fail (and are retried until
    # they expire) rather than land in a plaintext file.
    sms: SmsProvider = sink if settings.env == "development" else NoSmsProvider()
    return Transports(mail=mail, sms=sms)
