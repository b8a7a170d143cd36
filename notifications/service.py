"""Putting messages in the outbox, and the holder's choices of which notices to receive.

A message is queued with its kind and the few parameters its words need (a one-time code, an
expiry date), sealed under the resident's data key. Who it goes to is read from the contact on
file when it is sent, so the outbox never holds a copy of a contact; only a new contact being
confirmed travels with its message, sealed."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.orm import Session

from cityid.clock import Clock
from notifications import repository
from notifications.errors import NoticeNotOptional, UnknownNoticeKind
from notifications.models import OutboxMessage
from notifications.rules import KindRule, rules
from privacy.vault import Vault

OUTBOX = "notification_outbox"
Channel = Literal["email", "sms"]


@dataclass(frozen=True)
class NoticeDesk:
    vault: Vault
    clock: Clock


class CardLike(Protocol):
    """What a notice about a card needs of it (an idcard.models.Card)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def resident_id(self) -> uuid.UUID: ...


class PrintedCard(CardLike, Protocol):
    @property
    def application_id(self) -> uuid.UUID | None: ...


def _rule(kind: str) -> KindRule:
    try:
        return rules().kinds[kind]
    except KeyError:
        raise UnknownNoticeKind(f"Kinds: {', '.join(sorted(rules().kinds))}.") from None


def _queue(session: Session, desk: NoticeDesk, *, resident_id: uuid.UUID | None = None,
           appointment_id: uuid.UUID | None = None, kind: str, params: Mapping[str, str],
           channel: Channel | None = None, recipient: str | None = None,
           language: str | None = None, expires_at: datetime | None = None) -> OutboxMessage:
    rule = _rule(kind)
    if set(params) != set(rule.params):
        # The catalog's words take exactly these; anything more would be data the message
        # does not need.
        raise ValueError(f"{kind} takes parameters {list(rule.params)}, got {sorted(params)}")
    now = desk.clock.now()
    message = OutboxMessage(
        id=uuid.uuid4(), resident_id=resident_id, appointment_id=appointment_id, kind=kind,
        channel=channel, language=language, attempts=0, created_at=now, next_attempt_at=now,
        expires_at=min(now + rule.lifetime, expires_at or now + rule.lifetime))
    sealed = desk.vault.open_data_key(session, message.owner_id).record(OUTBOX, message.id)
    message.recipient_enc = sealed.seal_text("recipient", recipient)
    message.params_enc = sealed.seal_json("params", dict(params)) if params else None
    repository.add(session, message)
    return message


def opted_in(session: Session, resident_id: uuid.UUID, kind: str) -> bool:
    rule = _rule(kind)
    if not rule.optional:
        return True
    return repository.choices(session, resident_id).get(kind, rule.default_opt_in)


def enqueue(session: Session, kind: str, card: CardLike, *, desk: NoticeDesk,
            params: Mapping[str, str] | None = None) -> bool:
    """Queue a notice about ``card`` (card_ready, card_mailed, renewal_open) for its holder, if
    they opted in and have a contact on file; once per card and kind, so a retried step or a
    rescan sends nothing twice. True if it was queued. Runs in the caller's transaction."""
    if not opted_in(session, card.resident_id, kind):
        return False
    if not repository.has_contact(session, card.resident_id):
        return False
    if not repository.claim_card_notice(session, card.id, kind, desk.clock.now()):
        return False
    _queue(session, desk, resident_id=card.resident_id, kind=kind, params=params or {})
    return True


def enqueue_code(session: Session, *, desk: NoticeDesk, resident_id: uuid.UUID, kind: str,
                 code: str, minutes: int, channel: Channel | None = None,
                 recipient: str | None = None) -> OutboxMessage:
    """A one-time code: to the contact on file, or to ``recipient`` (a new contact being
    confirmed) on ``channel``."""
    return _queue(session, desk, resident_id=resident_id, kind=kind,
                  params={"code": code, "minutes": str(minutes)}, channel=channel,
                  recipient=recipient)


def enqueue_reminder(session: Session, *, desk: NoticeDesk, appointment_id: uuid.UUID,
                     channel: Channel, recipient: str, language: str,
                     params: Mapping[str, str], until: datetime) -> OutboxMessage:
    """An appointment reminder to the contact given at booking (giving one is asking for it),
    in the booking's language; worth sending only ``until`` the appointment starts. Sealed
    under the appointment's data key (the appointments package created it)."""
    return _queue(session, desk, appointment_id=appointment_id, kind="appointment_reminder",
                  params=params, channel=channel, recipient=recipient, language=language,
                  expires_at=until)


def withdraw_reminders(session: Session, appointment_id: uuid.UUID) -> int:
    """Delete an appointment's unsent reminders (it was cancelled or moved)."""
    return repository.delete_for_appointment(session, appointment_id)


def read_params(desk: NoticeDesk, session: Session, message: OutboxMessage) -> dict[str, str]:
    sealed = desk.vault.open_data_key(session, message.owner_id).record(OUTBOX, message.id)
    params = sealed.open_json("params", message.params_enc)
    return {str(k): str(v) for k, v in (params or {}).items()}


def read_recipient(desk: NoticeDesk, session: Session, message: OutboxMessage) -> str | None:
    sealed = desk.vault.open_data_key(session, message.owner_id).record(OUTBOX, message.id)
    return sealed.open_text("recipient", message.recipient_enc)


def choices(session: Session, resident_id: uuid.UUID) -> dict[str, bool]:
    """The holder's choice for every kind they can turn on or off."""
    made = repository.choices(session, resident_id)
    return {kind: made.get(kind, rules().kinds[kind].default_opt_in)
            for kind in rules().optional_kinds}


def set_choice(session: Session, *, desk: NoticeDesk, resident_id: uuid.UUID, kind: str,
               opted_in: bool) -> None:
    if not _rule(kind).optional:
        raise NoticeNotOptional()
    repository.set_choice(session, resident_id, kind, opted_in, desk.clock.now())


def card_printed(session: Session, card: PrintedCard, *, desk: NoticeDesk) -> bool:
    """A printed card to be picked up is ready for pickup. (Fulfilment states will call
    ``enqueue(session, "card_ready", card, ...)`` from their own ready-for-pickup step; the
    once-per-card record keeps the two from sending it twice.)"""
    if card.application_id is None:
        return False
    if repository.delivery_of(session, card.application_id) != "pickup":
        return False
    return enqueue(session, "card_ready", card, desk=desk)
