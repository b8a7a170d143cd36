"""The day's work: applications and cards by state, site and age, the longest waiting first.

A list shows references, states, sites and waiting times, never a name or a date of birth: the
person's data is read only when a clerk opens one application (and that is audited there).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityid.errors import Forbidden
from enrollment.models import Application
from fulfilment import repository
from fulfilment.service import FulfilmentDesk
from fulfilment.states import FulfilmentState
from privacy import audit
from privacy.audit import Actor


class Worklist(enum.StrEnum):
    DRAFTS = "drafts"
    WAITING_FOR_DOCUMENTS = "waiting_for_documents"
    IN_REVIEW = "in_review"
    SECOND_APPROVAL = "second_approval"
    DUPLICATES = "duplicates"
    CARDS_TO_PRINT = "cards_to_print"
    CARDS_PRINTED = "cards_printed"
    CARDS_IN_THE_MAIL = "cards_in_the_mail"
    WAITING_FOR_PICKUP = "waiting_for_pickup"


# Which application statuses, or card fulfilment states, each list holds.
APPLICATION_LISTS: dict[Worklist, tuple[str, ...]] = {
    Worklist.DRAFTS: ("draft",),
    Worklist.WAITING_FOR_DOCUMENTS: ("needs_documents",),
    Worklist.IN_REVIEW: ("submitted", "in_review"),
    # In review and taken in by someone else: what this person can approve as the second pair.
    Worklist.SECOND_APPROVAL: ("in_review",),
}
CARD_LISTS: dict[Worklist, tuple[str, ...]] = {
    Worklist.CARDS_TO_PRINT: (FulfilmentState.TO_PRINT,),
    Worklist.CARDS_PRINTED: (FulfilmentState.PRINTED,),
    Worklist.CARDS_IN_THE_MAIL: (FulfilmentState.MAILED,),
    Worklist.WAITING_FOR_PICKUP: (FulfilmentState.READY_FOR_PICKUP,),
}
MAX_ROWS = 200
SUPERVISORS = frozenset({"supervisor"})


class WorkItem(BaseModel):
    reference: str | None  # None only for a card with no application (seeded)
    state: str
    site_code: str | None
    card_id: uuid.UUID | None
    duplicate_id: uuid.UUID | None
    waiting_since: datetime
    waited_hours: int


class WorklistOut(BaseModel):
    worklist: str
    site_code: str | None
    items: list[WorkItem]


@dataclass(frozen=True)
class Query:
    worklist: Worklist
    site_code: str | None = None
    min_age: timedelta | None = None


def _reference(session: Session, desk: FulfilmentDesk, application: Application) -> str:
    key = desk.cards.vault.open_data_key(session, application.resident_id)
    return key.record("applications", application.id).open(
        "reference", application.reference_enc).decode()


def worklist(session: Session, *, desk: FulfilmentDesk, actor: Actor,
             query: Query) -> WorklistOut:
    if query.worklist is Worklist.DUPLICATES and actor.role not in SUPERVISORS:
        raise Forbidden("Duplicates are resolved by a supervisor.")
    now = desk.cards.clock.now()
    before = now - query.min_age if query.min_age is not None else None

    def item(reference: str | None, state: str, since: datetime, *, site: str | None = None,
             card_id: uuid.UUID | None = None, duplicate_id: uuid.UUID | None = None) -> WorkItem:
        return WorkItem(reference=reference, state=state, site_code=site, card_id=card_id,
                        duplicate_id=duplicate_id, waiting_since=since,
                        waited_hours=max(0, int((now - since).total_seconds() // 3600)))

    items: list[WorkItem] = []
    name = query.worklist
    if name in APPLICATION_LISTS:
        exclude = actor.id if name is Worklist.SECOND_APPROVAL else None
        for application in repository.applications_in(
                session, APPLICATION_LISTS[name], before=before, exclude_created_by=exclude,
                limit=MAX_ROWS):
            items.append(item(_reference(session, desk, application), application.status,
                              application.updated_at))
    elif name is Worklist.DUPLICATES:
        for flag, application in repository.open_duplicates(session, before=before,
                                                             limit=MAX_ROWS):
            items.append(item(_reference(session, desk, application), application.status,
                              flag.created_at, duplicate_id=flag.id))
    else:
        for card, record, card_application in repository.cards_in(
                session, CARD_LISTS[name], site_code=query.site_code,
                default_site=desk.rules.default_site, before=before, limit=MAX_ROWS):
            items.append(item(
                _reference(session, desk, card_application)
                if card_application is not None else None,
                card.fulfilment, record.updated_at if record is not None else card.issued_at,
                site=record.site_code if record is not None else desk.rules.default_site,
                card_id=card.id))
    audit.record(session, actor=actor, action="worklist.listed", clock=desk.cards.clock,
                 detail={"list": name.value, "count": len(items)})
    return WorklistOut(worklist=name.value, site_code=query.site_code, items=items)

