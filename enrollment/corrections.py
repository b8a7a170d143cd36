"""Corrections before the decision: the clerk corrects the names, the date of birth, where the
card goes and the designations, sees the photo, and withdraws a document record made in error.

While an application is before the decision (``BEFORE_DECISION``) its data can be corrected;
every correction is audited with the names of the fields that changed, never their values, and
re-runs the duplicate check through the blind index, as intake does. Once approved the data is
frozen (``application_frozen``): a card changes only through a replacement. A correction never
clears a possible duplicate already found: that stays a supervisor's decision, so an edit can't
be used to slip past the second look.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.orm import Session

from cityid.errors import Conflict, NotFound
from enrollment import corrections_repository, repository
from enrollment import service as enrollment
from enrollment.correction_schemas import EDITABLE_FIELDS, ApplicationEdit
from enrollment.errors import (
    ApplicationNotEditable,
    CaretakerNotAllowed,
    CaretakerRequired,
    ImpossibleDateOfBirth,
    UnknownReason,
)
from enrollment.models import Application, DuplicateFlag
from enrollment.residents import age_on, read_photo
from enrollment.rulebook import ApplicantTooYoung
from enrollment.schemas import ApplicationOut
from enrollment.service import MAX_AGE, EnrollmentDesk, pseudonym
from enrollment.states import BEFORE_DECISION, ApplicationStatus
from privacy import audit
from privacy.audit import Actor
from privacy.normalise import normalise_person

# The fields the duplicate check's blind index is made of.
PERSON_FIELDS = frozenset({"first_name", "last_name", "date_of_birth"})


class ApplicationFrozen(Conflict):
    code = "application_frozen"
    title = ("An approved application's data is frozen; a card changes only through a "
             "replacement")


class DocumentRecordNotFound(NotFound):
    code = "document_not_found"
    title = "This application has no such document record"


class PhotoNotFound(NotFound):
    code = "photo_not_found"
    title = "This application has no photo yet"


@lru_cache(maxsize=1)
def withdraw_reasons() -> frozenset[str]:
    data = yaml.safe_load(resources.files("enrollment").joinpath("corrections.yaml")
                          .read_text())
    return frozenset(data["withdraw_document"])


def check_correctable(application: Application) -> None:
    """Before the decision anything may be corrected; a denied application is closed; an
    approved one (with or without its card yet) is frozen."""
    if application.status in BEFORE_DECISION:
        return
    if application.status == ApplicationStatus.DENIED:
        raise ApplicationNotEditable()
    raise ApplicationFrozen()


def _check_age(desk: EnrollmentDesk, born: date, *, has_caretaker: bool) -> None:
    """The rules intake applies to a date of birth, applied again to a corrected one."""
    today = desk.clock.today()
    if born > today or age_on(born, today) > MAX_AGE:
        raise ImpossibleDateOfBirth()
    age = age_on(born, today)
    if age < desk.rulebook.minimum_age:
        raise ApplicantTooYoung(f"Applicants must be at least {desk.rulebook.minimum_age}")
    if desk.rulebook.needs_caretaker(age) and not has_caretaker:
        raise CaretakerRequired()
    if not desk.rulebook.needs_caretaker(age) and has_caretaker:
        raise CaretakerNotAllowed()


def _wanted(current: dict[str, Any], edit: ApplicationEdit) -> dict[str, Any]:
    """The editable fields after the correction, encoded as the vault seals them."""
    wanted = dict(current)
    sent = edit.model_fields_set
    for name in ("first_name", "middle_name", "last_name", "date_of_birth"):
        if name in sent:
            wanted[name] = getattr(edit, name)
    if edit.designations is not None:
        wanted["designations"] = edit.designations.model_dump()
    if edit.moves_the_card:
        wanted["address"] = edit.address.model_dump() if edit.address else None
        wanted["care_of"] = edit.care_of.model_dump() if edit.care_of else None
    return wanted


def _recheck_duplicates(session: Session, desk: EnrollmentDesk, application: Application,
                        person_index: str) -> int:
    """Intake's duplicate check again, for the corrected name and date of birth: a flag for
    each other application of the same person not flagged yet. Returns how many were added."""
    flagged = {f.matched_application_id
               for f in repository.duplicate_flags_of(session, application.id)}
    now = desk.clock.now()
    added = 0
    for match in repository.applications_of_person(session, person_index,
                                                   exclude_resident=application.resident_id):
        if match.id in flagged or match.id == application.id:
            continue
        repository.add(session, DuplicateFlag(
            id=uuid.uuid4(), application_id=application.id, matched_application_id=match.id,
            status="open", created_at=now))
        added += 1
    return added


def edit_application(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
                     edit: ApplicationEdit) -> ApplicationOut:
    application = enrollment.find_application(session, desk=desk, reference=reference,
                                              for_update=True)
    check_correctable(application)
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    current = desk.vault.open_fields(session, resident, *EDITABLE_FIELDS)
    wanted = _wanted(current, edit)
    changed = [name for name in EDITABLE_FIELDS if wanted[name] != current[name]]
    if not changed:
        return enrollment.view_application(session, desk=desk, application=application)
    if "date_of_birth" in changed:
        _check_age(desk, wanted["date_of_birth"],
                   has_caretaker=application.caretaker_enc is not None)

    key = desk.vault.open_data_key(session, resident.id)
    key.seal_fields(resident, {name: wanted[name] for name in changed})
    resident.person_index = desk.vault.blind_index("person", normalise_person(
        wanted["first_name"], wanted["last_name"], wanted["date_of_birth"]))
    application.delivery = "mail" if wanted["address"] else "pickup"
    application.updated_at = desk.clock.now()
    session.flush()
    added = _recheck_duplicates(session, desk, application, resident.person_index)
    open_flags = [f for f in repository.duplicate_flags_of(session, application.id)
                  if f.status == "open"]
    audit.record(session, actor=actor, action="application.corrected",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 detail={**dict.fromkeys(changed, True), "new_duplicates": added,
                         "possible_duplicate": bool(open_flags)})
    return enrollment.view_application(session, desk=desk, application=application)


def withdraw_document(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
                      document_id: uuid.UUID, reason: str) -> ApplicationOut:
    """Takes back a document record made in error. Only the record of an inspection ever
    existed, so withdrawing it deletes it; the audit entry keeps that it was withdrawn, why,
    and its category and points."""
    if reason not in withdraw_reasons():
        raise UnknownReason(f"Reasons to withdraw a document record: "
                            f"{', '.join(sorted(withdraw_reasons()))}.")
    application = enrollment.find_application(session, desk=desk, reference=reference,
                                              for_update=True)
    check_correctable(application)
    document = corrections_repository.document_of(session, application.id, document_id)
    if document is None:
        raise DocumentRecordNotFound()
    category, points = document.category, document.points
    corrections_repository.delete(session, document)
    application.updated_at = desk.clock.now()
    audit.record(session, actor=actor, action="application.document_withdrawn",
                 subject=pseudonym(desk, application.id), purpose=reason, clock=desk.clock,
                 detail={"category": category, "points": points})
    return enrollment.view_application(session, desk=desk, application=application)


def application_photo(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                      reference: str) -> bytes:
    """The photo on file (JPEG), for the clerk to look at before the decision."""
    application = enrollment.find_application(session, desk=desk, reference=reference)
    jpeg = read_photo(session, vault=desk.vault, resident_id=application.resident_id)
    if jpeg is None:
        raise PhotoNotFound()
    audit.record(session, actor=actor, action="application.photo_viewed",
                 subject=pseudonym(desk, application.id), clock=desk.clock)
    return jpeg
