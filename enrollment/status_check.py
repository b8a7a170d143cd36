"""The applicant's status check: public, throttled, and one answer for every way it is no.

``idcard.status_check`` adds the card's current state on top, since enrollment cannot see
cards."""

from __future__ import annotations

import hmac
import uuid
from datetime import date

from sqlalchemy.orm import Session

from cityid.errors import Throttled
from cityid.ratelimit import Limit, RateLimiter
from enrollment import i18n, repository
from enrollment.errors import StatusCheckNotFound
from enrollment.models import Application
from enrollment.reference import InvalidReference, normalise_reference
from enrollment.residents import RESIDENTS
from enrollment.schemas import StatusOut
from enrollment.service import EnrollmentDesk, StatusCheckPolicy, pseudonym, reference_index
from enrollment.states import ApplicationStatus
from privacy import audit
from privacy.audit import Actor
from privacy.errors import DecryptionFailed
from privacy.vault import DECOY_SEALED_DATE


class StatusCheckThrottled(Throttled):
    code = "status_check_throttled"
    title = "Too many status checks; please wait and try again"


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
                 subject=pseudonym(desk, application.id), clock=desk.clock)
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


def public_status(application: Application) -> ApplicationStatus:
    return application.status
