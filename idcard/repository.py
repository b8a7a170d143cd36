"""All SQL of idcard/."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import exists, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idcard.models import Card, StatusListDocument
from idcard.states import CardStatus

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def add(session: Session, card: Card) -> None:
    session.add(card)
    session.flush()


def get(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> Card | None:
    stmt = select(Card).where(Card.id == card_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def number_taken(session: Session, number_index: str) -> bool:
    return bool(session.scalar(select(exists().where(Card.card_number_index == number_index))))


def status_index_taken(session: Session, index: int) -> bool:
    return bool(session.scalar(select(exists().where(Card.status_index == index))))


def cards_of_resident(session: Session, resident_id: uuid.UUID) -> Sequence[Card]:
    return session.scalars(select(Card).where(Card.resident_id == resident_id)
                           .order_by(Card.issue_number)).all()


def latest_issue(session: Session, number_index: str) -> int:
    return int(session.scalar(select(func.max(Card.issue_number))
                              .where(Card.card_number_index == number_index)) or 0)


def by_number(session: Session, number_index: str) -> Sequence[Card]:
    return session.scalars(select(Card).where(Card.card_number_index == number_index)
                           .order_by(Card.issue_number.desc())).all()


def flagged_indexes(session: Session, status: CardStatus) -> list[int]:
    return list(session.scalars(select(Card.status_index).where(Card.status == status)))


def kids_in_use(session: Session, today: date) -> set[str]:
    """Keys that signed a card that has not yet expired: they stay published."""
    return set(session.scalars(select(Card.kid).where(Card.expires_on >= today).distinct()))


def verifier_kids_in_use(session: Session, today: date) -> set[str]:
    """Verifier keys that sealed a card that has not yet expired: verifiers still need them."""
    return set(session.scalars(select(Card.verifier_kid).where(
        Card.expires_on >= today, Card.verifier_kid.is_not(None)).distinct()))


def cards_to_print(session: Session, fulfilment: Sequence[str], limit: int | None = None
                   ) -> Sequence[Card]:
    stmt = (select(Card).where(Card.fulfilment.in_(fulfilment), Card.status == CardStatus.ACTIVE)
            .order_by(Card.issued_at))
    if limit:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def lock_status_list(session: Session) -> StatusListDocument | None:
    """Serialises rebuilders: after the lock, the card statuses read include every change
    committed before it, so two concurrent status changes cannot drop each other's bit."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(StatusListDocument).values(
        id=1, document=b"", issued_at=EPOCH, valid_until=EPOCH)
        .on_conflict_do_nothing(index_elements=["id"]))
    return session.scalars(select(StatusListDocument).where(StatusListDocument.id == 1)
                           .with_for_update().execution_options(populate_existing=True)).first()


def get_status_list(session: Session) -> StatusListDocument | None:
    return session.get(StatusListDocument, 1)


def refresh_statistics(session: Session, tables: Iterable[str]) -> None:
    """ANALYZE tables after a bulk load, so the query planner knows their new size."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    for table in tables:
        session.execute(text(f"ANALYZE {quote(table)}"))
