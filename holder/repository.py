"""All SQL of holder self-service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from holder.models import HolderCode, HolderSession
from idcard.models import Card
from notifications.models import CardNotice


def add(session: Session, row: HolderCode | HolderSession) -> None:
    session.add(row)
    session.flush()


def retire_codes(session: Session, number_index: str, purpose: str, now: datetime) -> None:
    """A new code replaces the card's earlier ones for the same purpose, so only one can be
    guessed at a time."""
    session.execute(update(HolderCode).where(
        HolderCode.card_number_index == number_index, HolderCode.purpose == purpose,
        HolderCode.used_at.is_(None)).values(used_at=now))


def live_codes(session: Session, number_index: str, purpose: str,
               now: datetime) -> Sequence[HolderCode]:
    return session.scalars(select(HolderCode).where(
        HolderCode.card_number_index == number_index, HolderCode.purpose == purpose,
        HolderCode.used_at.is_(None), HolderCode.expires_at > now)
        .order_by(HolderCode.created_at.desc()).with_for_update()).all()


def session_by_hash(session: Session, token_hash: str) -> HolderSession | None:
    return session.scalars(select(HolderSession).where(
        HolderSession.token_hash == token_hash)).first()


def end_session(session: Session, session_id: uuid.UUID) -> None:
    session.execute(delete(HolderSession).where(HolderSession.id == session_id))


def purge(session: Session, now: datetime) -> tuple[int, int]:
    """Delete codes and sessions past their expiry: (codes, sessions)."""
    codes = session.execute(delete(HolderCode).where(HolderCode.expires_at < now))
    sessions = session.execute(delete(HolderSession).where(HolderSession.expires_at < now))
    return (int(getattr(codes, "rowcount", 0) or 0), int(getattr(sessions, "rowcount", 0) or 0))


def cards_expiring_between(session: Session, first: date, last: date,
                           limit: int) -> Sequence[Card]:
    """Active cards expiring in [first, last] whose renewal notice was not queued yet."""
    noticed = select(CardNotice.card_id).where(CardNotice.kind == "renewal_open")
    return session.scalars(select(Card).where(
        Card.status == "active", Card.expires_on >= first, Card.expires_on <= last,
        Card.id.not_in(noticed)).order_by(Card.expires_on).limit(limit)).all()
