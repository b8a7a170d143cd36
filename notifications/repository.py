"""All SQL of the notifications package."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from enrollment.models import Application, Resident
from notifications.models import CardNotice, NotificationChoice, OutboxMessage


def add(session: Session, message: OutboxMessage) -> None:
    session.add(message)
    session.flush()


def due(session: Session, now: datetime, limit: int) -> Sequence[OutboxMessage]:
    # SKIP LOCKED: two workers never take the same message (SQLite has one writer anyway).
    stmt = (select(OutboxMessage).where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
            .with_for_update(skip_locked=True))
    return session.scalars(stmt).all()


def lock(session: Session, message_id: uuid.UUID) -> OutboxMessage | None:
    stmt = (select(OutboxMessage).where(OutboxMessage.id == message_id)
            .with_for_update(skip_locked=True))
    return session.scalars(stmt).first()


def delete_message(session: Session, message: OutboxMessage) -> None:
    session.delete(message)
    session.flush()


def delete_expired(session: Session, now: datetime) -> int:
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_for_appointment(session: Session, appointment_id: uuid.UUID) -> int:
    result = session.execute(delete(OutboxMessage).where(
        OutboxMessage.appointment_id == appointment_id))
    return int(getattr(result, "rowcount", 0) or 0)


def waiting(session: Session) -> Sequence[OutboxMessage]:
    return session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()


def resident(session: Session, resident_id: uuid.UUID) -> Resident | None:
    return session.get(Resident, resident_id)


def has_contact(session: Session, resident_id: uuid.UUID) -> bool:
    stmt = select(Resident.email_enc.is_not(None) | Resident.phone_enc.is_not(None)).where(
        Resident.id == resident_id)
    return bool(session.scalar(stmt))


def choices(session: Session, resident_id: uuid.UUID) -> dict[str, bool]:
    rows = session.scalars(select(NotificationChoice).where(
        NotificationChoice.resident_id == resident_id))
    return {row.kind: row.opted_in for row in rows}


def set_choice(session: Session, resident_id: uuid.UUID, kind: str, opted_in: bool,
               now: datetime) -> None:
    row = session.get(NotificationChoice, (resident_id, kind), with_for_update=True)
    if row is None:
        session.add(NotificationChoice(resident_id=resident_id, kind=kind, opted_in=opted_in,
                                       updated_at=now))
    else:
        row.opted_in, row.updated_at = opted_in, now
    session.flush()


def claim_card_notice(session: Session, card_id: uuid.UUID, kind: str, now: datetime) -> bool:
    """True the first time a card's notice of ``kind`` is claimed."""
    if session.get(CardNotice, (card_id, kind)) is not None:
        return False
    session.add(CardNotice(card_id=card_id, kind=kind, queued_at=now))
    session.flush()
    return True


def delivery_of(session: Session, application_id: uuid.UUID) -> str | None:
    return session.scalar(select(Application.delivery).where(Application.id == application_id))
