"""What a partner calls with its API key: verify a presented card, see its benefits, redeem.

These routes take most of the traffic, so they are ``async`` and hand their database work to the
threadpool themselves: FastAPI would otherwise spend a second threadpool hop per request just to
validate a sync route's response."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import PartnerDep, RuntimeDep, SessionDep
from api.errors import app_error_response
from redemption import ledger, verification
from redemption.errors import CardNotRecognised, VerifyThrottled
from redemption.schemas import (
    CardPresented,
    HolderBenefitState,
    ReceiptOut,
    RedemptionIn,
    VerifyIn,
    VerifyOut,
    VoidIn,
)

router = APIRouter(prefix="/v1", tags=["partner"])


# Refusals whose audit entry must commit (a failed check by number, a throttled one): answered,
# not raised, so the request's transaction commits.
AUDITED_REFUSALS = (CardNotRecognised, VerifyThrottled)


@router.post("/verify", response_model=VerifyOut)
async def verify(body: VerifyIn, partner: PartnerDep, session: SessionDep,
                 runtime: RuntimeDep) -> VerifyOut | Response:
    try:
        return await run_in_threadpool(partial(
            verification.verify, session, desk=runtime.cards, guard=runtime.number_guard,
            partner=partner, request=body))
    except AUDITED_REFUSALS as exc:
        return app_error_response(exc)


@router.get("/partner/benefits", response_model=list[HolderBenefitState])
async def partner_benefits(partner: PartnerDep, session: SessionDep, runtime: RuntimeDep,
                           x_card_qr: Annotated[str | None, Header(max_length=4096)] = None
                           ) -> list[HolderBenefitState]:
    """The partner's own benefits. With the holder's card QR in the X-Card-QR header (kept out
    of the URL), each benefit says whether it is available to that holder now."""
    return await run_in_threadpool(partial(
        ledger.partner_catalogue, session, desk=runtime.ledger, partner=partner,
        presented=CardPresented(qr=x_card_qr) if x_card_qr else None))


@router.post("/redemptions", response_model=ReceiptOut)
async def redeem(body: RedemptionIn, partner: PartnerDep, session: SessionDep,
                 runtime: RuntimeDep,
                 idempotency_key: Annotated[str | None, Header(max_length=128)] = None
                 ) -> ReceiptOut | Response:
    try:
        return await run_in_threadpool(partial(ledger.redeem, session, desk=runtime.ledger,
                                               partner=partner,
                                               idempotency_key=idempotency_key, request=body))
    except AUDITED_REFUSALS as exc:
        return app_error_response(exc)


@router.post("/redemptions/{redemption_id}/void", response_model=ReceiptOut)
async def void(redemption_id: uuid.UUID, body: VoidIn, partner: PartnerDep,
               session: SessionDep, runtime: RuntimeDep) -> ReceiptOut:
    return await run_in_threadpool(partial(ledger.void, session, desk=runtime.ledger,
                                           partner=partner, redemption_id=redemption_id,
                                           request=body))
