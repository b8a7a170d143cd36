"""Fees and waivers at the desk: a card's fee (computed when the card was made), recorded as paid
or waived; the administrators' fee totals, small cells withheld (fees/)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from fees import report
from fees import service as fees
from fees.schemas import FeeOut, FeeRecordIn, FeeReport

router = APIRouter(prefix="/v1", tags=["fees"])


@router.get("/cards/{card_id}/fee", response_model=FeeOut)
def get_fee(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
            runtime: RuntimeDep) -> FeeOut:
    return fees.fee_of(session, desk=runtime.fees, actor=principal.actor, card_id=card_id)


@router.post("/cards/{card_id}/fee", response_model=FeeOut)
def record_fee(card_id: uuid.UUID, body: FeeRecordIn, principal: PrincipalDep,
               session: SessionDep, runtime: RuntimeDep) -> FeeOut:
    """Paid in full (the amount as a check) or waived with a reason code; never a payment
    detail."""
    return fees.record(session, desk=runtime.fees, actor=principal.actor, card_id=card_id,
                       entry=body)


@router.get("/reports/fees", response_model=FeeReport, tags=["reports"])
def fee_report(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> FeeReport:
    return report.fee_report(session, clock=runtime.clock, actor=principal.actor)
