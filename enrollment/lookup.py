"""A lost reference found at the desk: a clerk asks with the applicant's name and date of birth,
and the answer is the reference of each application of that person.

Found through the blind index the duplicate check uses (``Resident.person_index``, the keyed
hash of the normalised name and date of birth, computed as ``register_resident`` computes it):
no row is decrypted to search and no name is matched in the clear; only the references of the
applications found are opened. Never online: only the desk's roles reach it (the access matrix),
each lookup is throttled per staff account and audited with the count it found, never the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityid.errors import Throttled
from cityid.ratelimit import Limit, RateLimiter
from enrollment import repository
from enrollment.schemas import Name, Strict
from enrollment.service import EnrollmentDesk, pseudonym, read_reference
from privacy import audit
from privacy.audit import Actor
from privacy.normalise import normalise_person


class ReferenceLookupThrottled(Throttled):
    code = "reference_lookup_throttled"
    title = "Too many reference lookups from this account; try again later"


class ReferenceLookupIn(Strict):
    first_name: Name
    last_name: Name
    date_of_birth: date


class FoundReference(BaseModel):
    reference: str
    status: str
    created_at: datetime


class ReferenceLookupOut(BaseModel):
    # The applications of this person, the newest first; empty when nothing matched.
    found: list[FoundReference]


@dataclass(frozen=True)
class LookupGuard:
    limiter: RateLimiter
    per_staff: Limit


def person_index(desk: EnrollmentDesk, first_name: str, last_name: str, born: date) -> str:
    """The duplicate check's index, from the same normalisation and key."""
    return desk.vault.blind_index("person", normalise_person(first_name, last_name, born))


def lookup_reference(session: Session, *, desk: EnrollmentDesk, actor: Actor,
                     guard: LookupGuard, query: ReferenceLookupIn) -> ReferenceLookupOut:
    # The slot is taken before the work: a burst of lookups can't all pass the count at once.
    wait = guard.limiter.reserve(guard.per_staff, actor.id)
    if wait is not None:
        raise ReferenceLookupThrottled(retry_after=wait)
    applications = repository.applications_by_person_index(
        session, person_index(desk, query.first_name, query.last_name, query.date_of_birth))
    audit.record(session, actor=actor, action="application.reference_lookup", clock=desk.clock,
                 detail={"found": len(applications)})
    found = []
    for application in applications:
        # Each application whose reference was given out, by its pseudonym: a records request
        # shows who looked it up and when.
        audit.record(session, actor=actor, action="application.reference_found",
                     subject=pseudonym(desk, application.id), clock=desk.clock)
        found.append(FoundReference(reference=read_reference(session, desk, application),
                                    status=application.status,
                                    created_at=application.created_at))
    return ReferenceLookupOut(found=found)
