"""The supervisor's duplicate queue: possible duplicates found at intake, and their resolution.
An open flag blocks approval (``enrollment.service``)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from enrollment import repository
from enrollment.errors import DuplicateFlagNotFound, IllegalTransition, UnknownReason
from enrollment.models import DuplicateFlag
from enrollment.schemas import DuplicateOut
from enrollment.service import EnrollmentDesk, pseudonym, read_reference, reason_codes
from privacy import audit
from privacy.audit import Actor


def _out(session: Session, desk: EnrollmentDesk, flag: DuplicateFlag) -> DuplicateOut | None:
    application = repository.get_application(session, flag.application_id)
    matched = repository.get_application(session, flag.matched_application_id)
    if application is None or matched is None:
        return None
    return DuplicateOut(
        id=flag.id, application_reference=read_reference(session, desk, application),
        application_status=application.status,
        matched_reference=read_reference(session, desk, matched), matched_status=matched.status,
        created_at=flag.created_at)


def list_duplicates(session: Session, *, desk: EnrollmentDesk, actor: Actor) -> list[DuplicateOut]:
    """The supervisor's queue: references and statuses only, no one's personal data."""
    out = [view for flag in repository.open_duplicate_flags(session)
           if (view := _out(session, desk, flag)) is not None]
    audit.record(session, actor=actor, action="duplicates.listed", clock=desk.clock,
                 detail={"open": len(out)})
    return out


def resolve_duplicate(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                      flag_id: uuid.UUID, resolution: str) -> DuplicateOut:
    if resolution not in reason_codes()["duplicate_resolution"]:
        raise UnknownReason("Resolve a duplicate as not_duplicate or same_person.")
    flag = repository.get_duplicate_flag(session, flag_id, for_update=True)
    if flag is None:
        raise DuplicateFlagNotFound()
    if flag.status != "open":
        raise IllegalTransition("This duplicate check was already resolved.")
    flag.status, flag.resolution = "resolved", resolution
    flag.resolved_by, flag.resolved_at = actor.id, desk.clock.now()
    session.flush()
    view = _out(session, desk, flag)
    assert view is not None
    audit.record(session, actor=actor, action="duplicate.resolved",
                 subject=pseudonym(desk, flag.application_id), purpose=resolution,
                 clock=desk.clock)
    return view
