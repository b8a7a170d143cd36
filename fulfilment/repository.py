"""All SQL of fulfilment/."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from enrollment.models import Application, DuplicateFlag
from fulfilment.models import CardFulfilment, PrintBatch
from idcard.models import Card


def add(session: Session, row: CardFulfilment | PrintBatch) -> None:
    session.add(row)
    session.flush()


def record_of(session: Session, card_id: uuid.UUID, *,
              for_update: bool = False) -> CardFulfilment | None:
    stmt = select(CardFulfilment).where(CardFulfilment.card_id == card_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def card(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> Card | None:
    stmt = select(Card).where(Card.id == card_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def delivery_of(session: Session, application_id: uuid.UUID | None) -> str | None:
    if application_id is None:
        return None
    return session.scalar(select(Application.delivery).where(Application.id == application_id))


def _site_expr(default_site: str) -> ColumnElement[str]:
    # A card nobody assigned yet is queued at the default site.
    return func.coalesce(CardFulfilment.site_code, default_site)


def cards_to_print(session: Session, *, site_code: str, default_site: str, today: date,
                   limit: int | None = None, for_update: bool = False) -> Sequence[Card]:
    """Active, unexpired cards waiting at a site and in no batch yet, oldest first."""
    stmt = (select(Card).outerjoin(CardFulfilment, CardFulfilment.card_id == Card.id)
            .where(Card.fulfilment == "to_print", Card.status == "active",
                   Card.expires_on >= today, CardFulfilment.batch_id.is_(None),
                   _site_expr(default_site) == site_code)
            .order_by(Card.issued_at, Card.id))
    if limit:
        stmt = stmt.limit(limit)
    if for_update:
        stmt = stmt.with_for_update(of=Card)
    return session.scalars(stmt).all()


def get_batch(session: Session, batch_id: uuid.UUID, *,
              for_update: bool = False) -> PrintBatch | None:
    stmt = select(PrintBatch).where(PrintBatch.id == batch_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def cards_of_batch(session: Session, batch_id: uuid.UUID) -> Sequence[tuple[Card,
                                                                            CardFulfilment]]:
    rows = session.execute(
        select(Card, CardFulfilment).join(CardFulfilment, CardFulfilment.card_id == Card.id)
        .where(CardFulfilment.batch_id == batch_id).order_by(Card.issued_at, Card.id)).all()
    return [(row[0], row[1]) for row in rows]


def batches(session: Session, *, site_code: str | None, limit: int) -> Sequence[PrintBatch]:
    stmt = select(PrintBatch).order_by(PrintBatch.created_at.desc()).limit(limit)
    if site_code is not None:
        stmt = stmt.where(PrintBatch.site_code == site_code)
    return session.scalars(stmt).all()


def latest_card_of_application(session: Session, application_id: uuid.UUID) -> Card | None:
    # A replacement or a renewal is a later issue of the same application's card.
    return session.scalars(select(Card).where(Card.application_id == application_id)
                           .order_by(Card.issue_number.desc()).limit(1)).first()


# --- worklists ------------------------------------------------------------------------------


def applications_in(session: Session, statuses: Sequence[str], *, before: datetime | None,
                    exclude_created_by: str | None = None, limit: int) -> Sequence[Application]:
    """Applications in ``statuses``, the longest waiting first (by their last change)."""
    stmt = select(Application).where(Application.status.in_(statuses))
    if before is not None:
        stmt = stmt.where(Application.updated_at <= before)
    if exclude_created_by is not None:
        stmt = stmt.where(Application.created_by != exclude_created_by)
    return session.scalars(stmt.order_by(Application.updated_at, Application.id)
                           .limit(limit)).all()


def open_duplicates(session: Session, *, before: datetime | None,
                    limit: int) -> Sequence[tuple[DuplicateFlag, Application]]:
    stmt = (select(DuplicateFlag, Application)
            .join(Application, Application.id == DuplicateFlag.application_id)
            .where(DuplicateFlag.status == "open"))
    if before is not None:
        stmt = stmt.where(DuplicateFlag.created_at <= before)
    rows = session.execute(stmt.order_by(DuplicateFlag.created_at).limit(limit)).all()
    return [(row[0], row[1]) for row in rows]


def cards_in(session: Session, states: Sequence[str], *, site_code: str | None,
             default_site: str, before: datetime | None,
             limit: int) -> Sequence[tuple[Card, CardFulfilment | None, Application | None]]:
    """Cards in fulfilment ``states`` (active ones only: others leave the desk's lists), with
    their fulfilment record and application, the longest waiting first."""
    since = func.coalesce(CardFulfilment.updated_at, Card.issued_at)
    stmt = (select(Card, CardFulfilment, Application)
            .outerjoin(CardFulfilment, CardFulfilment.card_id == Card.id)
            .outerjoin(Application, Application.id == Card.application_id)
            .where(Card.fulfilment.in_(states), Card.status == "active"))
    if site_code is not None:
        stmt = stmt.where(_site_expr(default_site) == site_code)
    if before is not None:
        stmt = stmt.where(since <= before)
    rows = session.execute(stmt.order_by(since, Card.id).limit(limit)).all()
    return [(row[0], row[1], row[2]) for row in rows]


# --- operating numbers ----------------------------------------------------------------------


def applications_between(session: Session, since: datetime, until: datetime
                         ) -> Sequence[tuple[datetime, str, datetime | None, str | None]]:
    rows = session.execute(
        select(Application.created_at, Application.status, Application.decided_at,
               Application.decision_reason)
        .where(Application.created_at >= since, Application.created_at < until)
        .execution_options(yield_per=5000)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def fulfilments_between(session: Session, since: datetime, until: datetime
                        ) -> Sequence[tuple[datetime, str, datetime | None, datetime | None,
                                            datetime | None, datetime | None]]:
    """For each card of an application made in the window: when the application was made, the
    card's site and when it was mailed, returned and picked up."""
    rows = session.execute(
        select(Application.created_at, CardFulfilment.site_code, CardFulfilment.mailed_at,
               CardFulfilment.returned_at, CardFulfilment.picked_up_at,
               CardFulfilment.not_received_at)
        .join(Card, Card.application_id == Application.id)
        .join(CardFulfilment, CardFulfilment.card_id == Card.id)
        .where(Application.created_at >= since, Application.created_at < until)).all()
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
