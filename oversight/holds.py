"""Legal holds: a supervisor or admin stops retention from purging a resident or application.

All of a hold is in oversight/: its table (``oversight.models``), its SQL
(``oversight.repository``) and its service here; retention asks the repository which subjects
are held."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.errors import Conflict, NotFound
from enrollment import service as enrollment
from enrollment.service import EnrollmentDesk
from oversight import repository
from oversight.models import LegalHold
from privacy import audit
from privacy.audit import Actor

HoldReason = Literal["litigation", "investigation", "court_order", "records_request",
                     "audit"]


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["application", "resident"]
    reason: HoldReason


class HoldOut(BaseModel):
    id: uuid.UUID
    scope: str
    reason: str
    placed_at: str
    released_at: str | None


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "No such legal hold"


class HoldAlreadyReleased(Conflict):
    code = "hold_already_released"
    title = "This legal hold was already released"


def _out(hold: LegalHold) -> HoldOut:
    return HoldOut(id=hold.id, scope=hold.subject_type, reason=hold.reason,
                   placed_at=hold.placed_at.isoformat(),
                   released_at=hold.released_at.isoformat() if hold.released_at else None)


def place(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
          hold: HoldIn) -> HoldOut:
    application = enrollment.find_application(session, desk=desk, reference=reference)
    subject_id = application.id if hold.scope == "application" else application.resident_id
    row = LegalHold(id=uuid.uuid4(), subject_type=hold.scope, subject_id=subject_id,
                    reason=hold.reason, placed_by=actor.id, placed_at=desk.clock.now())
    repository.add_hold(session, row)
    audit.record(session, actor=actor, action="hold.placed",
                 subject=desk.vault.pseudonym(hold.scope, subject_id), purpose=hold.reason,
                 clock=desk.clock)
    return _out(row)


def list_for(session: Session, *, desk: EnrollmentDesk, reference: str) -> list[HoldOut]:
    application = enrollment.find_application(session, desk=desk, reference=reference)
    holds = [*repository.holds_on(session, application.id),
             *repository.holds_on(session, application.resident_id)]
    return [_out(h) for h in sorted(holds, key=lambda h: h.placed_at)]


def release(session: Session, *, actor: Actor, clock: Clock,
            hold_id: uuid.UUID) -> HoldOut:
    hold = repository.get_hold(session, hold_id)
    if hold is None:
        raise HoldNotFound()
    if hold.released_at is not None:
        raise HoldAlreadyReleased()
    hold.released_by, hold.released_at = actor.id, clock.now()
    session.flush()
    audit.record(session, actor=actor, action="hold.released", subject=f"hold:{hold.id}",
                 purpose=hold.reason, clock=clock)
    return _out(hold)
