"""Enrollment: a resident's application from intake to decision, and the applicant's status check.

Personal fields are sealed through privacy/ before they reach the database. A document is checked
against the rulebook and handed back; only its category, points and two flags are kept.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import NotFound, Throttled
from cityid.ratelimit import Limit, RateLimiter
from enrollment import i18n, repository, review
from enrollment.errors import (
    ApplicationNotEditable,
    ApplicationNotFound,
    CaretakerNotAllowed,
    CaretakerRequired,
    DuplicateConfirmed,
    DuplicateFlagNotFound,
    DuplicateUnresolved,
    IllegalTransition,
    ImpossibleDateOfBirth,
    OverrideNeedsSupervisor,
    PhotoMissing,
    RulebookNotSatisfied,
    StatusCheckNotFound,
    UnknownReason,
)
from enrollment.models import (
    Application,
    ApplicationDocument,
    DuplicateFlag,
    Resident,
    ResidentPhoto,
)
from enrollment.photo import process_photo
from enrollment.reference import InvalidReference, new_reference, normalise_reference
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
    DuplicateOut,
    ResidentData,
    StatusOut,
    TallyOut,
)
from privacy import audit
from privacy.audit import Actor
from privacy.errors import DecryptionFailed
from privacy.normalise import normalise_person
from privacy.vault import DECOY_SEALED_DATE, RecordCipher, Vault

RESIDENTS, APPLICATIONS, PHOTOS = "residents", "applications", "resident_photos"
MAX_AGE = 130
SUPERVISOR_ROLES = frozenset({"supervisor"})

# The workflow as data: for each step, the statuses it may start from and where it leads.
TRANSITIONS: dict[str, dict[str, str]] = {
    "submit": {"draft": "submitted", "needs_documents": "submitted"},
    "review": {"submitted": "in_review"},
    "request_documents": {"in_review": "needs_documents"},
    "approve": {"in_review": "approved"},
    "deny": {"draft": "denied", "submitted": "denied", "in_review": "denied",
             "needs_documents": "denied"},
    "issue_card": {"approved": "card_issued"},
}
EDITABLE = frozenset({"draft", "submitted", "in_review", "needs_documents"})


class ResidentNotFound(NotFound):
    code = "resident_not_found"
    title = "No such resident"


class StatusCheckThrottled(Throttled):
    code = "status_check_throttled"
    title = "Too many status checks; please wait and try again"


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


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _pseudonym(desk: EnrollmentDesk, application_id: uuid.UUID) -> str:
    return desk.vault.pseudonym("application", application_id)


def reference_index(desk: EnrollmentDesk, canonical: str) -> str:
    return desk.vault.blind_index("application-reference", canonical)


# --- residents ------------------------------------------------------------------------------


def seal_resident(cipher: RecordCipher, resident: Resident, data: ResidentData) -> None:
    resident.first_name_enc = cipher.seal("first_name", data.first_name.encode())
    resident.middle_name_enc = cipher.seal_text("middle_name", data.middle_name)
    resident.last_name_enc = cipher.seal("last_name", data.last_name.encode())
    resident.date_of_birth_enc = cipher.seal("date_of_birth",
                                             data.date_of_birth.isoformat().encode())
    resident.address_enc = cipher.seal_json(
        "address", data.address.model_dump() if data.address else None)


def register_resident(session: Session, *, vault: Vault, data: ResidentData,
                      clock: Clock = system_clock) -> Resident:
    resident_id = uuid.uuid4()
    key = vault.create_data_key(session, resident_id)
    resident = Resident(id=resident_id, created_at=clock.now(),
                        person_index=vault.blind_index("person", normalise_person(
                            data.first_name, data.last_name, data.date_of_birth)))
    seal_resident(key.record(RESIDENTS, resident_id), resident, data)
    repository.add_resident(session, resident)
    return resident


def read_resident(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> ResidentData:
    resident = repository.get_resident(session, resident_id)
    if resident is None:
        raise ResidentNotFound()
    cipher = vault.open_data_key(session, resident_id).record(RESIDENTS, resident_id)
    address = cipher.open_json("address", resident.address_enc)
    born = cipher.open_date("date_of_birth", resident.date_of_birth_enc)
    assert born is not None
    return ResidentData(
        first_name=cipher.open("first_name", resident.first_name_enc).decode(),
        middle_name=cipher.open_text("middle_name", resident.middle_name_enc),
        last_name=cipher.open("last_name", resident.last_name_enc).decode(),
        date_of_birth=born,
        address=Address(**address) if address else None,
    )


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
    person = key.record(RESIDENTS, resident.id)
    resident.care_of_enc = person.seal_json(
        "care_of", data.care_of.model_dump() if data.care_of else None)
    resident.phone_enc = person.seal_text("phone", data.phone)
    resident.email_enc = person.seal_text("email", data.email)
    resident.designations_enc = person.seal_json("designations", data.designations.model_dump())

    reference = new_reference()
    application_id = uuid.uuid4()
    sealed = key.record(APPLICATIONS, application_id)
    now = desk.clock.now()
    application = Application(
        id=application_id, resident_id=resident.id,
        reference_index=reference_index(desk, normalise_reference(reference)),
        reference_enc=sealed.seal("reference", reference.encode()),
        status="draft", delivery="mail" if data.address else "pickup",
        caretaker_enc=sealed.seal_json(
            "caretaker", data.caretaker.model_dump() if data.caretaker else None),
        created_by=actor.id, created_at=now, updated_at=now)
    repository.add(session, application)

    matches = repository.applications_of_person(session, resident.person_index or "",
                                                exclude_resident=resident.id)
    for match in matches:
        repository.add(session, DuplicateFlag(
            id=uuid.uuid4(), application_id=application.id, matched_application_id=match.id,
            status="open", created_at=now))
    audit.record(session, actor=actor, action="application.created",
                 subject=_pseudonym(desk, application.id), clock=desk.clock,
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
                 subject=_pseudonym(desk, application.id), clock=desk.clock)
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
                 subject=_pseudonym(desk, application.id), clock=desk.clock,
                 detail={"category": credit.category.value, "points": credit.points})
    return _view(session, desk, application)


def set_photo(session: Session, *, desk: EnrollmentDesk, actor: Actor, reference: str,
              image: bytes) -> ApplicationOut:
    application = _find(session, desk, reference, for_update=True)
    if application.status not in EDITABLE:
        raise ApplicationNotEditable()
    jpeg = process_photo(image, max_bytes=desk.max_photo_bytes)
    key = desk.vault.open_data_key(session, application.resident_id)
    sealed = key.record(PHOTOS, application.resident_id).seal("photo", jpeg)
    now = desk.clock.now()
    photo = repository.get_photo(session, application.resident_id)
    if photo is None:
        repository.add(session, ResidentPhoto(resident_id=application.resident_id,
                                              photo_enc=sealed, updated_at=now))
    else:
        photo.photo_enc, photo.updated_at = sealed, now
    application.updated_at = now
    audit.record(session, actor=actor, action="application.photo_set",
                 subject=_pseudonym(desk, application.id), clock=desk.clock)
    return _view(session, desk, application)


def read_photo(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> bytes | None:
    photo = repository.get_photo(session, resident_id)
    if photo is None:
        return None
    return vault.open_data_key(session, resident_id).record(PHOTOS, resident_id).open(
        "photo", photo.photo_enc)


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
                 subject=_pseudonym(desk, application.id), clock=desk.clock,
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
                 subject=_pseudonym(desk, application.id), clock=desk.clock,
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


# --- duplicates -----------------------------------------------------------------------------


def list_duplicates(session: Session, *, desk: EnrollmentDesk, actor: Actor) -> list[DuplicateOut]:
    """The supervisor's queue: references and statuses only, no one's personal data."""
    out = []
    for flag in repository.open_duplicate_flags(session):
        application = repository.get_application(session, flag.application_id)
        matched = repository.get_application(session, flag.matched_application_id)
        if application is None or matched is None:
            continue
        out.append(DuplicateOut(
            id=flag.id, application_reference=_reference(session, desk, application),
            application_status=application.status,
            matched_reference=_reference(session, desk, matched), matched_status=matched.status,
            created_at=flag.created_at))
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
    application = repository.get_application(session, flag.application_id)
    matched = repository.get_application(session, flag.matched_application_id)
    assert application is not None and matched is not None
    audit.record(session, actor=actor, action="duplicate.resolved",
                 subject=_pseudonym(desk, application.id), purpose=resolution, clock=desk.clock)
    return DuplicateOut(
        id=flag.id, application_reference=_reference(session, desk, application),
        application_status=application.status,
        matched_reference=_reference(session, desk, matched), matched_status=matched.status,
        created_at=flag.created_at)


# --- the applicant's status check -----------------------------------------------------------


def check_status(session: Session, *, desk: EnrollmentDesk, limiter: RateLimiter,
                 policy: StatusCheckPolicy, reference: str, date_of_birth: date, lang: str,
                 client: str) -> StatusOut:
    """Public. An unknown reference, a malformed one and a wrong date of birth get one answer,
    after the same work, and the answer holds no personal data.

    Each check takes its slots (the client's, then the reference's failure slot) before any
    work, atomically, so concurrent guesses can't outrun the limit. A success proves the date
    of birth: it clears the reference's failures and counts against a higher limit of its own,
    so an applicant looking again is not locked out."""
    try:
        canonical = normalise_reference(reference)
    except InvalidReference:
        canonical = "invalid:" + "".join(reference.split()).upper()[:32]
    index = reference_index(desk, canonical)
    for limit, key in ((policy.per_client, client), (policy.per_reference, index)):
        _reserve(limiter, limit, key, lang)

    application = repository.application_by_reference_index(session, index)
    matches = _birth_date_matches(session, desk, application, date_of_birth)
    if application is None or not matches:
        raise StatusCheckNotFound(i18n.not_found_message(lang))
    limiter.clear(policy.per_reference, index)
    _reserve(limiter, policy.successes_per_reference, index, lang)
    status = public_status(application)
    label, next_step = i18n.status_message(status, lang)
    audit.record(session, actor=Actor("applicant", "public"), action="application.status_checked",
                 subject=_pseudonym(desk, application.id), clock=desk.clock)
    return StatusOut(status=status, label=label, next_step=next_step, lang=lang,
                     dir=i18n.direction(lang))


def _reserve(limiter: RateLimiter, limit: Limit, key: str, lang: str) -> None:
    wait = limiter.reserve(limit, key)
    if wait is not None:
        raise StatusCheckThrottled(i18n.throttled_message(lang), retry_after=wait)


def _birth_date_matches(session: Session, desk: EnrollmentDesk,
                        application: Application | None, date_of_birth: date) -> bool:
    """Whether the application's resident was born on ``date_of_birth``. With no application
    (or no resident) it does the same reads, unwrap and decryption against a decoy, so the
    answer takes as long whichever way it is no."""
    resident = repository.get_resident(
        session, application.resident_id if application is not None else uuid.uuid4())
    if resident is not None:
        cipher = desk.vault.open_data_key(session, resident.id).record(RESIDENTS, resident.id)
        sealed = resident.date_of_birth_enc
    else:
        decoy = desk.vault.open_decoy(session)
        cipher, sealed = decoy.record(RESIDENTS, decoy.owner_id), DECOY_SEALED_DATE
    try:
        stored = cipher.open("date_of_birth", sealed)
    except DecryptionFailed:
        if resident is not None:
            raise
        stored = b""
    matches = hmac.compare_digest(stored, date_of_birth.isoformat().encode())
    return resident is not None and matches


def public_status(application: Application) -> str:
    return application.status


# --- the card holder ------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """What a card shows and signs: read for issuing and rendering, never stored in the clear."""

    resident_id: uuid.UUID
    first_name: str
    middle_name: str | None
    last_name: str
    date_of_birth: date
    address: Address | None
    care_of: CareOf | None
    designations: Designations

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


def read_holder(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> Holder:
    resident = repository.get_resident(session, resident_id)
    if resident is None:
        raise ResidentNotFound()
    person = vault.open_data_key(session, resident_id).record(RESIDENTS, resident_id)
    born = person.open_date("date_of_birth", resident.date_of_birth_enc)
    assert born is not None
    address = person.open_json("address", resident.address_enc)
    care_of = person.open_json("care_of", resident.care_of_enc)
    designations = person.open_json("designations", resident.designations_enc)
    return Holder(
        resident_id=resident_id,
        first_name=person.open("first_name", resident.first_name_enc).decode(),
        middle_name=person.open_text("middle_name", resident.middle_name_enc),
        last_name=person.open("last_name", resident.last_name_enc).decode(),
        date_of_birth=born,
        address=Address(**address) if address else None,
        care_of=CareOf(**care_of) if care_of else None,
        designations=Designations(**designations) if designations else Designations())


def read_birth_date(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> date | None:
    """Only the date of birth, for checking one a partner was told. For an id that is no
    resident's (the vault's decoy owner, when a card number is unknown) the same reads and the
    same decryption run on a decoy and the answer is None, so both answers take one time."""
    plain = vault.open_field_or_decoy(session, resident_id, RESIDENTS, "date_of_birth",
                                      repository.birth_date_blob(session, resident_id),
                                      length=len("2000-01-01"))
    return date.fromisoformat(plain.decode()) if plain is not None else None


def find_application(session: Session, *, desk: EnrollmentDesk, reference: str,
                     for_update: bool = False) -> Application:
    return _find(session, desk, reference, for_update=for_update)


def mark_card_issued(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                     application: Application) -> None:
    _move(application, "issue_card")
    application.updated_at = desk.clock.now()
    audit.record(session, actor=actor, action="application.card_issued",
                 subject=_pseudonym(desk, application.id), clock=desk.clock)


def view_application(session: Session, *, desk: EnrollmentDesk,
                     application: Application) -> ApplicationOut:
    return _view(session, desk, application)


# --- reading an application back ------------------------------------------------------------


def _reference(session: Session, desk: EnrollmentDesk, application: Application) -> str:
    key = desk.vault.open_data_key(session, application.resident_id)
    return key.record(APPLICATIONS, application.id).open("reference",
                                                         application.reference_enc).decode()


def _credits(session: Session, application: Application) -> list[DocumentCredit]:
    return [DocumentCredit(category=DocumentCategory(d.category), points=d.points,
                           shows_photo=d.shows_photo, shows_dob=d.shows_dob)
            for d in repository.documents_of(session, application.id)]


def _tally(session: Session, desk: EnrollmentDesk, application: Application) -> TallyOut:
    resident = repository.get_resident(session, application.resident_id)
    assert resident is not None
    cipher = desk.vault.open_data_key(session, resident.id).record(RESIDENTS, resident.id)
    born = cipher.open_date("date_of_birth", resident.date_of_birth_enc)
    assert born is not None
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
    key = desk.vault.open_data_key(session, resident.id)
    person = key.record(RESIDENTS, resident.id)
    sealed = key.record(APPLICATIONS, application.id)
    born = person.open_date("date_of_birth", resident.date_of_birth_enc)
    assert born is not None
    address = person.open_json("address", resident.address_enc)
    care_of = person.open_json("care_of", resident.care_of_enc)
    designations = person.open_json("designations", resident.designations_enc)
    caretaker = sealed.open_json("caretaker", application.caretaker_enc)
    flags = repository.duplicate_flags_of(session, application.id)
    return ApplicationOut(
        reference=sealed.open("reference", application.reference_enc).decode(),
        status=application.status,
        delivery="mail" if application.delivery == "mail" else "pickup",
        first_name=person.open("first_name", resident.first_name_enc).decode(),
        middle_name=person.open_text("middle_name", resident.middle_name_enc),
        last_name=person.open("last_name", resident.last_name_enc).decode(),
        date_of_birth=born,
        address=Address(**address) if address else None,
        care_of=CareOf(**care_of) if care_of else None,
        phone=person.open_text("phone", resident.phone_enc),
        email=person.open_text("email", resident.email_enc),
        designations=Designations(**designations) if designations else Designations(),
        caretaker=Caretaker(**caretaker) if caretaker else None,
        documents=[DocumentOut(category=d.category, points=d.points, shows_photo=d.shows_photo,
                               shows_dob=d.shows_dob, checked_at=d.checked_at)
                   for d in repository.documents_of(session, application.id)],
        tally=_tally(session, desk, application),
        has_photo=repository.has_photo(session, resident.id),
        possible_duplicate=any(f.status == "open" for f in flags),
        decision_reason=application.decision_reason,
        rulebook_override=application.rulebook_override,
        created_at=application.created_at,
        decided_at=application.decided_at,
    )
