"""All SQL of fees/."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fees.models import CardFee


def add(session: Session, fee: CardFee) -> None:
    session.add(fee)
    session.flush()


def fee_of(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> CardFee | None:
    stmt = select(CardFee).where(CardFee.card_id == card_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def totals(session: Session) -> Sequence[tuple[str, str, str, str | None, int, int]]:
    """Per kind, currency, status and waiver code: how many fees and the cents they count (paid
    for a paid fee, the amount due otherwise)."""
    amount = func.coalesce(CardFee.amount_paid_cents, CardFee.amount_due_cents)
    rows = session.execute(
        select(CardFee.kind, CardFee.currency, CardFee.status, CardFee.waiver_code,
               func.count(), func.coalesce(func.sum(amount), 0))
        .group_by(CardFee.kind, CardFee.currency, CardFee.status, CardFee.waiver_code)).all()
    return [(r[0], r[1], str(r[2]), r[3], int(r[4]), int(r[5])) for r in rows]
