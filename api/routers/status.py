from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from api.deps import RuntimeDep, SessionDep, client_address
from enrollment import i18n
from enrollment.schemas import StatusCheckIn, StatusOut
from fulfilment import status_check

router = APIRouter(prefix="/v1", tags=["applicants"])


@router.post("/status", response_model=StatusOut)
def check_status(body: StatusCheckIn, request: Request, session: SessionDep,
                 runtime: RuntimeDep,
                 accept_language: Annotated[str | None, Header()] = None) -> StatusOut:
    """Public: the reference and date of birth travel in the body, never the URL."""
    lang = i18n.negotiate(accept_language, body.lang)
    return status_check.check_status(
        session, desk=runtime.cards, limiter=runtime.limiter,
        policy=runtime.status_check_policy, reference=body.reference,
        date_of_birth=body.date_of_birth, lang=lang, client=client_address(request))
