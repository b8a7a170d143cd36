"""All SQL of the program impact reports: residents in batches, and the dated events of a range
of residents (applications created, cards issued, redemptions not voided)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.models import Application, Resident
from idcard.models import Card
from privacy.models import DataKey
from redemption.models import Benefit, Redemption


@dataclass(frozen=True)
class ResidentBatch:
    ids: Sequence[uuid.UUID]
    first: uuid.UUID
    last: uuid.UUID


class Event(NamedTuple):
    resident_id: uuid.UUID
    measure: str
    at: datetime
    category: str | None


def resident_batches(session: Session, *, size: int) -> Iterator[ResidentBatch]:
    """Every resident once, in id order, ``size`` at a time.

    The batch's residents and data keys are loaded together and held while the caller works on
    the batch, so the services' reads of one resident find both in the session instead of
    querying twice per resident. Once the caller moves on they are no longer referenced, and the
    session's identity map (which holds unmodified objects weakly) lets them go: memory stays
    flat however many residents there are."""
    last: uuid.UUID | None = None
    while True:
        stmt = select(Resident).order_by(Resident.id).limit(size)
        if last is not None:
            stmt = stmt.where(Resident.id > last)
        residents = session.scalars(stmt).all()
        if not residents:
            return
        first, last = residents[0].id, residents[-1].id
        keys = session.scalars(select(DataKey).where(DataKey.owner_id >= first,
                                                     DataKey.owner_id <= last)).all()
        yield ResidentBatch(ids=[r.id for r in residents], first=first, last=last)
        del residents, keys


def events_between(session: Session, first: uuid.UUID, last: uuid.UUID, *,
                   since: datetime, until: datetime) -> list[Event]:
    """The events in [since, until) of the residents whose ids lie in [first, last]."""
    applications = session.execute(
        select(Application.resident_id, Application.created_at)
        .where(Application.resident_id >= first, Application.resident_id <= last,
               Application.created_at >= since, Application.created_at < until))
    cards = session.execute(
        select(Card.resident_id, Card.issued_at)
        .where(Card.resident_id >= first, Card.resident_id <= last,
               Card.issued_at >= since, Card.issued_at < until))
    redemptions = session.execute(
        select(Redemption.resident_id, Redemption.redeemed_at, Benefit.category)
        .join(Benefit, Benefit.id == Redemption.benefit_id)
        .where(Redemption.resident_id >= first, Redemption.resident_id <= last,
               Redemption.voided_at.is_(None),
               Redemption.redeemed_at >= since, Redemption.redeemed_at < until))
    return ([Event(r, "enrollments", at, None) for r, at in applications]
            + [Event(r, "cards_issued", at, None) for r, at in cards]
            + [Event(r, "redemptions", at, str(category)) for r, at, category in redemptions])
