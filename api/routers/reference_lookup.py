"""The lost reference, found at the desk from the applicant's name and date of birth. Staff of
the desk only, throttled per account and audited (enrollment/lookup.py); no public route."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from enrollment import lookup
from enrollment.lookup import ReferenceLookupIn, ReferenceLookupOut

router = APIRouter(prefix="/v1", tags=["enrollment"])


@router.post("/reference-lookups", response_model=ReferenceLookupOut)
def lookup_reference(body: ReferenceLookupIn, principal: PrincipalDep, session: SessionDep,
                     runtime: RuntimeDep) -> ReferenceLookupOut:
    """The name and date of birth travel in the body, never the URL."""
    return lookup.lookup_reference(session, desk=runtime.enrollment, actor=principal.actor,
                                   guard=runtime.reference_lookup_guard, query=body)
