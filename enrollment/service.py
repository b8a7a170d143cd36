"""Enrollment: a resident's application from intake to decision.

Personal fields are sealed through privacy/ before they reach the database, as the models declare
them (``__sealed__``). A document is checked against the rulebook and handed back; only its
category, points and two flags are kept. Beside this module: residents (``enrollment.residents``),
the duplicate queue (``enrollment.duplicates``) and the applicant's status check
(``enrollment.status_check``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.ratelimit import Limit
from cityid.roles import Role
from enrollment import repository, review
from enrollment.errors import (
    ApplicationNotEditable,
    ApplicationNotFound,
    CaretakerNotAllowed,
    CaretakerRequired,
    DuplicateConfirmed,
    DuplicateUnresolved,
    IllegalTransition,
    ImpossibleDateOfBirth,
    OverrideNeedsSupervisor,
    PhotoMissing,
    RulebookNotSatisfied,
    UnknownReason,
)
from enrollment.models import (
    Application,
    ApplicationDocument,
    DuplicateFlag,
    ResidentPhoto,
)
from enrollment.photo import process_photo
from enrollment.reference import InvalidReference, new_reference, normalise_reference
from enrollment.residents import Holder as Holder
from enrollment.residents import age_on as age_on
from enrollment.residents import read_holder as read_holder
from enrollment.residents import read_photo as read_photo
from enrollment.residents import register_resident
from enrollment.rulebook import ApplicantTooYoung, DocumentCategory, DocumentCredit, Rulebook
from enrollment.schemas import (
    Address,
    ApplicationCreate,
    ApplicationOut,
    CareOf,
    Caretaker,
    DecisionIn,
    Designations,
    DocumentIn,
    DocumentOut,
    ResidentData,
    TallyOut,
)
from enrollment.states import BEFORE_DECISION, ApplicationStatus
from enrollment.states import ApplicationStatus as S
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault

MAX_AGE = 130
SUPERVISOR_ROLES = frozenset({Role.SUPERVISOR})

# The workflow as data: for each step, the statuses it may start from and where it leads.
TRANSITIONS: dict[str, dict[ApplicationStatus, ApplicationStatus]] = {
    "submit": {S.DRAFT: S.SUBMITTED, S.NEEDS_DOCUMENTS: S.SUBMITTED},
    "review": {S.SUBMITTED: S.IN_REVIEW},
    "request_documents": {S.IN_REVIEW: S.NEEDS_DOCUMENTS},
    "approve": {S.IN_REVIEW: S.APPROVED},
    "deny": {S.DRAFT: S.DENIED, S.SUBMITTED: S.DENIED, S.IN_REVIEW: S.DENIED,
             S.NEEDS_DOCUMENTS: S.DENIED},
    "issue_card": {S.APPROVED: S.CARD_ISSUED},
}
EDITABLE = BEFORE_DECISION


@lru_cache(maxsize=1)
def reason_codes() -> dict[str, frozenset[str]]:
    data = yaml.safe_load(resources.files("enrollment").joinpath("reasons.yaml").read_text())
    return {key: frozenset(values) for key, values in data.items()}


@dataclass(frozen=True)
class StatusCheckPolicy:
    per_reference: Limit  # failed checks (a success clears it)
    per_client: Limit  # every check
    successes_per_reference: Limit


@dataclass(frozen=True)
class EnrollmentDesk:
    """What enrollment work needs besides the session and the actor."""

    vault: Vault
    rulebook: Rulebook
    clock: Clock
    max_photo_bytes: int


def pseudonym(desk: EnrollmentDesk, application_id: uuid.UUID) -> str:
    return desk.vault.pseudonym("application", application_id)


def reference_index(desk: EnrollmentDesk, canonical: str) -> str:
    return desk.vault.blind_index("application-reference", canonical)


# --- applications ---------------------------------------------------------------------------


def create_application(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                       data: ApplicationCreate) -> ApplicationOut:
    today = desk.clock.today()
    if data.date_of_birth > today or age_on(data.date_of_birth, today) > MAX_AGE:
        raise ImpossibleDateOfBirth()
    age = age_on(data.date_of_birth, today)
    if age < desk.rulebook.minimum_age:
        raise ApplicantTooYoung(f"Applicants must be at least {desk.rulebook.minimum_age}")
    if desk.rulebook.needs_caretaker(age) and data.caretaker is None:
        raise CaretakerRequired()
    if not desk.rulebook.needs_caretaker(age) and data.caretaker is not None:
        raise CaretakerNotAllowed()

    resident = register_resident(session, vault=desk.vault, clock=desk.clock, data=ResidentData(
        first_name=data.first_name, middle_name=data.middle_name, last_name=data.last_name,
        date_of_birth=data.date_of_birth, address=data.address))
    key = desk.vault.open_data_key(session, resident.id)
    key.seal_fields(resident, {
        "care_of": data.care_of.model_dump() if data.care_of else None,
        "phone": data.phone, "email": data.email,
        "designations": data.designations.model_dump()})

    reference = new_reference()
    now = desk.clock.now()
    application = Application(
        id=uuid.uuid4(), resident_id=resident.id,
        reference_index=reference_index(desk, normalise_reference(reference)),
        status=ApplicationStatus.DRAFT, delivery="mail" if data.address else "pickup",
        created_by=actor.id, created_at=now, updated_at=now)
    key.seal_fields(application, {
        "reference": reference,
        "caretaker": data.caretaker.model_dump() if data.caretaker else None})
    repository.add(session, application)

    matches = repository.applications_of_person(session, resident.person_index or "",
                                                exclude_resident=resident.id)
    for match in matches:
        repository.add(session, DuplicateFlag(
            id=uuid.uuid4(), application_id=application.id, matched_application_id=match.id,
            status="open", created_at=now))
    audit.record(session, actor=actor, action="application.created",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 detail={"possible_duplicate": bool(matches),
                         "caretaker": data.caretaker is not None})
    return _view(session, desk, application)


def _find(session: Session, desk: EnrollmentDesk, reference: str, *,
          for_update: bool = False) -> Application:
    try:
        canonical = normalise_reference(reference)
    except InvalidReference:
        raise ApplicationNotFound() from None
    application = repository.application_by_reference_index(
        session, reference_index(desk, canonical), for_update=for_update)
    if application is None:
        raise ApplicationNotFound()
    return application


def get_application(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                    reference: str) -> ApplicationOut:
    application = _find(session, desk, reference)
    audit.record(session, actor=actor, action="application.viewed",
                 subject=pseudonym(desk, application.id), clock=desk.clock)
    return _view(session, desk, application)


def add_document(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
                 document: DocumentIn) -> ApplicationOut:
    application = _find(session, desk, reference, for_update=True)
    if application.status not in EDITABLE:
        raise ApplicationNotEditable()
    credit = desk.rulebook.evaluate_document(
        document.kind, expires_on=document.expires_on, issued_on=document.issued_on,
        shows_photo=document.shows_photo, shows_dob=document.shows_dob,
        today=desk.clock.today())
    now = desk.clock.now()
    repository.add(session, ApplicationDocument(
        id=uuid.uuid4(), application_id=application.id, category=credit.category.value,
        points=credit.points, shows_photo=credit.shows_photo, shows_dob=credit.shows_dob,
        checked_by=actor.id, checked_at=now))
    application.updated_at = now
    audit.record(session, actor=actor, action="application.document_checked",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 detail={"category": credit.category.value, "points": credit.points})
    return _view(session, desk, application)


def set_photo(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
              image: bytes) -> ApplicationOut:
    application = _find(session, desk, reference, for_update=True)
    if application.status not in EDITABLE:
        raise ApplicationNotEditable()
    jpeg = process_photo(image, max_bytes=desk.max_photo_bytes)
    now = desk.clock.now()
    photo = repository.get_photo(session, application.resident_id)
    if photo is None:
        photo = ResidentPhoto(resident_id=application.resident_id, updated_at=now)
        desk.vault.seal_fields(session, photo, {"photo": jpeg})
        repository.add(session, photo)
    else:
        desk.vault.seal_fields(session, photo, {"photo": jpeg})
        photo.updated_at = now
    application.updated_at = now
    audit.record(session, actor=actor, action="application.photo_set",
                 subject=pseudonym(desk, application.id), clock=desk.clock)
    return _view(session, desk, application)


def _move(application: Application, step: str) -> None:
    target = TRANSITIONS[step].get(application.status)
    if target is None:
        raise IllegalTransition(f"An application that is {application.status} cannot "
                                f"take the step '{step}'.")
    application.status = target


def advance(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
            step: str) -> ApplicationOut:
    """The intake steps without a decision: submit (draft or needs_documents) and review."""
    if step not in ("submit", "review"):
        raise IllegalTransition(f"'{step}' is not an intake step.")
    application = _find(session, desk, reference, for_update=True)
    _move(application, step)
    application.updated_at = desk.clock.now()
    audit.record(session, actor=actor, action=f"application.{step}",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 detail={"status": application.status})
    return _view(session, desk, application)


def decide(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
           decision: DecisionIn) -> ApplicationOut:
    application = _find(session, desk, reference, for_update=True)
    reasons = reason_codes()
    allowed = reasons["override"] if decision.override_rulebook else reasons[decision.outcome]
    if decision.override_rulebook and decision.outcome != "approve":
        raise UnknownReason("Only an approval can override the rulebook.")
    if decision.reason not in allowed:
        raise UnknownReason(f"Reasons for this decision: {', '.join(sorted(allowed))}.")
    if TRANSITIONS[decision.outcome].get(application.status) is None:
        _move(application, decision.outcome)  # raises IllegalTransition
    if decision.outcome == "approve":
        _check_approvable(session, desk, actor, application, decision)
    _move(application, decision.outcome)
    now = desk.clock.now()
    application.updated_at = now
    if decision.outcome != "request_documents":
        application.decided_by, application.decided_at = actor.id, now
        application.decision_reason = decision.reason
        application.rulebook_fingerprint = desk.rulebook.fingerprint
        application.rulebook_override = decision.override_rulebook
    audit.record(session, actor=actor, action=f"application.{decision.outcome}",
                 subject=pseudonym(desk, application.id), clock=desk.clock,
                 purpose=decision.reason,
                 detail={"override": decision.override_rulebook,
                         "rulebook": desk.rulebook.fingerprint[:16]})
    return _view(session, desk, application)


def _check_approvable(session: Session, desk: EnrollmentDesk, actor: Actor,
                      application: Application, decision: DecisionIn) -> None:
    review.check_approver(intake_by=application.created_by, actor=actor)
    flags = repository.duplicate_flags_of(session, application.id)
    if any(f.status == "open" for f in flags):
        raise DuplicateUnresolved()
    if any(f.resolution == "same_person" for f in flags):
        raise DuplicateConfirmed()
    if not repository.has_photo(session, application.resident_id):
        raise PhotoMissing()
    satisfied = _tally(session, desk, application).satisfied
    if not satisfied and not decision.override_rulebook:
        raise RulebookNotSatisfied()
    if decision.override_rulebook and actor.role not in SUPERVISOR_ROLES:
        raise OverrideNeedsSupervisor()


# --- what idcard builds on ----------------------------------------------------------------
# (It reads residents through here too: Holder, read_holder, read_photo and age_on above are
# enrollment.residents', named in this module for idcard/service.py.)


def find_application(session: Session, *, desk: EnrollmentDesk, reference: str,
                     for_update: bool = False) -> Application:
    return _find(session, desk, reference, for_update=for_update)


def mark_card_issued(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                     application: Application) -> None:
    _move(application, "issue_card")
    application.updated_at = desk.clock.now()
    audit.record(session, actor=actor, action="application.card_issued",
                 subject=pseudonym(desk, application.id), clock=desk.clock)


def view_application(session: Session, *, desk: EnrollmentDesk,
                     application: Application) -> ApplicationOut:
    return _view(session, desk, application)


# --- reading an application back ------------------------------------------------------------


def read_reference(session: Session, desk: EnrollmentDesk, application: Application) -> str:
    reference: str = desk.vault.open_fields(session, application, "reference")["reference"]
    return reference


def _credits(session: Session, application: Application) -> list[DocumentCredit]:
    return [DocumentCredit(category=DocumentCategory(d.category), points=d.points,
                           shows_photo=d.shows_photo, shows_dob=d.shows_dob)
            for d in repository.documents_of(session, application.id)]


def _tally(session: Session, desk: EnrollmentDesk, application: Application) -> TallyOut:
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    born: date = desk.vault.open_fields(session, resident, "date_of_birth")["date_of_birth"]
    tally = desk.rulebook.tally(_credits(session, application),
                                age=age_on(born, desk.clock.today()),
                                # sealed only when there is a caretaker
                                has_caretaker=application.caretaker_enc is not None)
    return TallyOut(satisfied=tally.satisfied,
                    points={c.value: n for c, n in tally.points.items()},
                    total_points=tally.total_points, missing=tally.missing,
                    messages=tally.messages)


def _view(session: Session, desk: EnrollmentDesk, application: Application) -> ApplicationOut:
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    person = desk.vault.open_fields(session, resident)
    sealed = desk.vault.open_fields(session, application)
    address, care_of, designations = (person[f] for f in ("address", "care_of", "designations"))
    caretaker = sealed["caretaker"]
    flags = repository.duplicate_flags_of(session, application.id)
    return ApplicationOut(
        reference=sealed["reference"],
        status=application.status,
        delivery="mail" if application.delivery == "mail" else "pickup",
        first_name=person["first_name"],
        middle_name=person["middle_name"],
        last_name=person["last_name"],
        date_of_birth=person["date_of_birth"],
        address=Address(**address) if address else None,
        care_of=CareOf(**care_of) if care_of else None,
        phone=person["phone"],
        email=person["email"],
        designations=Designations(**designations) if designations else Designations(),
        caretaker=Caretaker(**caretaker) if caretaker else None,
        documents=[DocumentOut(id=d.id, category=d.category, points=d.points,
                               shows_photo=d.shows_photo, shows_dob=d.shows_dob,
                               checked_at=d.checked_at)
                   for d in repository.documents_of(session, application.id)],
        tally=_tally(session, desk, application),
        has_photo=repository.has_photo(session, resident.id),
        possible_duplicate=any(f.status == "open" for f in flags),
        decision_reason=application.decision_reason,
        rulebook_override=application.rulebook_override,
        created_at=application.created_at,
        decided_at=application.decided_at,
    )
