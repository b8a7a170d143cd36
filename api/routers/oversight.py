"""Legal holds and records requests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from oversight import holds, records

router = APIRouter(prefix="/v1", tags=["oversight"])


@router.post("/applications/{reference}/holds", response_model=holds.HoldOut,
             status_code=status.HTTP_201_CREATED)
def place_hold(reference: str, body: holds.HoldIn, principal: PrincipalDep,
               session: SessionDep, runtime: RuntimeDep) -> holds.HoldOut:
    return holds.place(session, desk=runtime.enrollment, actor=principal.actor,
                       reference=reference, hold=body)


@router.get("/applications/{reference}/holds", response_model=list[holds.HoldOut])
def list_holds(reference: str, _: PrincipalDep, session: SessionDep,
               runtime: RuntimeDep) -> list[holds.HoldOut]:
    return holds.list_for(session, desk=runtime.enrollment, reference=reference)


@router.post("/holds/{hold_id}/release", response_model=holds.HoldOut)
def release_hold(hold_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                 runtime: RuntimeDep) -> holds.HoldOut:
    return holds.release(session, actor=principal.actor, clock=runtime.clock, hold_id=hold_id)


@router.get("/applications/{reference}/records")
def records_request(reference: str, principal: PrincipalDep, session: SessionDep,
                    runtime: RuntimeDep) -> dict[str, Any]:
    """Everything held about the applicant's resident record, and what is never held."""
    return records.records_for(session, desk=runtime.cards, actor=principal.actor,
                               reference=reference)


@router.get("/applications/{reference}/records.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def records_request_pdf(reference: str, principal: PrincipalDep, session: SessionDep,
                        runtime: RuntimeDep) -> Response:
    pdf = records.records_pdf(records.records_for(session, desk=runtime.cards,
                                                  actor=principal.actor, reference=reference))
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})
