"""All SQL of redemption/."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from partners.models import Partner
from redemption.models import Benefit, BenefitHold, Redemption


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def get_benefit(session: Session, benefit_id: uuid.UUID) -> Benefit | None:
    return session.get(Benefit, benefit_id)


def benefits_of(session: Session, partner_id: uuid.UUID | None) -> Sequence[Benefit]:
    stmt = select(Benefit).order_by(Benefit.name)
    if partner_id is not None:
        stmt = stmt.where(Benefit.partner_id == partner_id)
    return session.scalars(stmt).all()


def lock_hold(session: Session, benefit_id: uuid.UUID, resident_id: uuid.UUID) -> None:
    """Take the (benefit, holder) row for update: concurrent redemptions of one benefit by one
    holder queue here; different holders never wait for each other."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(BenefitHold).values(benefit_id=benefit_id, resident_id=resident_id)
                    .on_conflict_do_nothing(index_elements=["benefit_id", "resident_id"]))
    session.execute(select(BenefitHold.benefit_id).where(
        BenefitHold.benefit_id == benefit_id, BenefitHold.resident_id == resident_id)
        .with_for_update())


def redemption_by_key(session: Session, partner_id: uuid.UUID,
                      idempotency_key: str) -> Redemption | None:
    return session.scalars(select(Redemption).where(
        Redemption.partner_id == partner_id,
        Redemption.idempotency_key == idempotency_key)).first()


def live_redemptions(session: Session, benefit_id: uuid.UUID, resident_id: uuid.UUID,
                     *, since: datetime | None = None,
                     period_key: str | None = None) -> Sequence[Redemption]:
    stmt = select(Redemption).where(Redemption.benefit_id == benefit_id,
                                    Redemption.resident_id == resident_id,
                                    Redemption.voided_at.is_(None))
    if since is not None:
        stmt = stmt.where(Redemption.redeemed_at > since)
    if period_key is not None:
        stmt = stmt.where(Redemption.period_key == period_key)
    return session.scalars(stmt.order_by(Redemption.redeemed_at)).all()


def max_slot(session: Session, benefit_id: uuid.UUID, resident_id: uuid.UUID,
             period_key: str) -> int:
    return int(session.scalar(select(func.max(Redemption.slot)).where(
        Redemption.benefit_id == benefit_id, Redemption.resident_id == resident_id,
        Redemption.period_key == period_key)) or 0)


def get_redemption(session: Session, redemption_id: uuid.UUID, *,
                   for_update: bool = False) -> Redemption | None:
    stmt = select(Redemption).where(Redemption.id == redemption_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def redemptions_of_resident(session: Session, resident_id: uuid.UUID) -> Sequence[Redemption]:
    return session.scalars(select(Redemption).where(Redemption.resident_id == resident_id)
                           .order_by(Redemption.redeemed_at)).all()


def monthly_counts(session: Session) -> list[tuple[str, str, str, int]]:
    """(partner, benefit, month, count) of redemptions not voided, grouped in the database."""
    if session.get_bind().dialect.name == "postgresql":
        month: Any = func.to_char(Redemption.redeemed_at, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", Redemption.redeemed_at)
    rows = session.execute(
        select(Partner.name, Benefit.name, month.label("month"), func.count())
        .join(Benefit, Benefit.id == Redemption.benefit_id)
        .join(Partner, Partner.id == Redemption.partner_id)
        .where(Redemption.voided_at.is_(None))
        .group_by(Partner.name, Benefit.name, month)
        .order_by(Partner.name, Benefit.name, month))
    return [(str(p), str(b), str(m), int(n)) for p, b, m, n in rows]
