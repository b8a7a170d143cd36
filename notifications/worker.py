"""The outbox worker: sends what is due, one message per transaction, and deletes it once sent.

A message is opened only here: its parameters, the contact on file (or the new contact it
confirms) and the holder's language are read from their ciphertext just before sending. A
transport that fails leaves the message in the outbox with its next attempt pushed back
(rules.yaml); a message whose lifetime ran out is deleted unsent. Sending comes before the
delete commits, so a crash between the two sends a message twice rather than never."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from cityid.db import unit_of_work
from enrollment.residents import RESIDENTS
from notifications import i18n, repository
from notifications.models import OutboxMessage
from notifications.rules import rules
from notifications.service import NoticeDesk, read_params, read_recipient
from notifications.transports import DeliveryFailed, Transports
from privacy import audit
from privacy.audit import Actor

WORKER = Actor("notifications", "system")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dropped: int = 0

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.retrying} to retry, {self.dropped} dropped "
                "(expired or no contact)")


def _address(session: Session, desk: NoticeDesk,
             message: OutboxMessage) -> tuple[str, str, str] | None:
    """(channel, recipient, language), or None if the holder has no contact for it now."""
    if message.resident_id is None:
        # A reminder to an appointment's contact carries its address and language; a purged
        # appointment's can no longer be opened (its data key is gone).
        recipient = read_recipient(desk, session, message)
        if recipient is None or message.channel is None:
            return None
        return message.channel, recipient, message.language or i18n.language_of([])
    resident = repository.resident(session, message.resident_id)
    if resident is None:
        return None
    person = desk.vault.open_data_key(session, resident.id).record(RESIDENTS, resident.id)
    designations = person.open_json("designations", resident.designations_enc) or {}
    lang = i18n.language_of(list(designations.get("languages") or []))
    recipient = read_recipient(desk, session, message)
    if recipient is not None and message.channel:
        return message.channel, recipient, lang
    email = person.open_text("email", resident.email_enc)
    phone = person.open_text("phone", resident.phone_enc)
    if message.channel in (None, "email") and email:
        return "email", email, lang
    if message.channel in (None, "sms") and phone:
        return "sms", phone, lang
    return None


def _drop(session: Session, desk: NoticeDesk, message: OutboxMessage, reason: str) -> None:
    audit.record(session, actor=WORKER, action="notification.dropped", clock=desk.clock,
                 detail={"kind": message.kind, "reason": reason})
    repository.delete_message(session, message)


def _deliver_one(session: Session, desk: NoticeDesk, transports: Transports,
                 message_id: uuid.UUID, report: DeliveryReport) -> None:
    message = repository.lock(session, message_id)
    if message is None:
        return  # another worker has it, or it was sent meanwhile
    now = desk.clock.now()
    if message.expires_at < now:
        _drop(session, desk, message, "expired")
        report.dropped += 1
        return
    address = _address(session, desk, message)
    if address is None:
        _drop(session, desk, message, "no_contact")
        report.dropped += 1
        return
    channel, recipient, lang = address
    rendered = i18n.render(message.kind, lang, read_params(desk, session, message))
    try:
        if channel == "email":
            transports.mail.send_mail(recipient, rendered)
        else:
            transports.sms.send_sms(recipient, rendered.body)
    except DeliveryFailed as failed:
        message.attempts += 1
        message.last_error = failed.code
        message.next_attempt_at = now + rules().backoff(message.attempts)
        session.flush()
        report.retrying += 1
        return
    audit.record(session, actor=WORKER, action="notification.sent", clock=desk.clock,
                 detail={"kind": message.kind, "channel": channel, "attempts": message.attempts
                         + 1})
    repository.delete_message(session, message)
    report.sent += 1


def deliver_due(sessions: sessionmaker[Session], *, desk: NoticeDesk, transports: Transports,
                limit: int = 100,
                before_each: Callable[[], None] | None = None) -> DeliveryReport:
    """Send up to ``limit`` due messages, each in its own transaction."""
    report = DeliveryReport()
    with unit_of_work(sessions) as session:
        report.dropped += repository.delete_expired(session, desk.clock.now())
        due = [m.id for m in repository.due(session, desk.clock.now(), limit)]
    for message_id in due:
        if before_each:
            before_each()
        with unit_of_work(sessions) as session:
            _deliver_one(session, desk, transports, message_id, report)
    return report
