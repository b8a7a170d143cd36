"""What a partner calls with its API key: verify a presented card, see its benefits, redeem.

These routes take most of the traffic, so they are ``async`` and hand their database work to the
threadpool themselves: FastAPI would otherwise spend a second threadpool hop per request just to
validate a sync route's response."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import PartnerDep, RuntimeDep, SessionDep, client_address
from redemption import benefits as catalogue
from redemption import history, ledger, verification
from redemption.schemas import (
    CardPresented,
    HolderBenefitState,
    HolderEvent,
    HolderHistoryIn,
    ReceiptOut,
    RedemptionIn,
    VerifyIn,
    VerifyOut,
    VoidIn,
)

router = APIRouter(prefix="/v1", tags=["partner"])


@router.post("/verify", response_model=VerifyOut)
async def verify(body: VerifyIn, partner: PartnerDep, session: SessionDep,
                 runtime: RuntimeDep) -> VerifyOut:
    return await run_in_threadpool(partial(verification.verify, session, desk=runtime.cards,
                                           partner=partner, request=body))


@router.get("/partner/benefits", response_model=list[HolderBenefitState])
async def partner_benefits(partner: PartnerDep, session: SessionDep, runtime: RuntimeDep,
                           x_card_qr: Annotated[str | None, Header(max_length=4096)] = None
                           ) -> list[HolderBenefitState]:
    """The partner's own benefits. With the holder's card QR in the X-Card-QR header (kept out
    of the URL), each benefit says whether it is available to that holder now."""
    return await run_in_threadpool(partial(
        catalogue.partner_catalogue, session, desk=runtime.ledger, partner=partner,
        presented=CardPresented(qr=x_card_qr) if x_card_qr else None))


@router.post("/redemptions", response_model=ReceiptOut)
async def redeem(body: RedemptionIn, partner: PartnerDep, session: SessionDep,
                 runtime: RuntimeDep,
                 idempotency_key: Annotated[str | None, Header(max_length=128)] = None
                 ) -> ReceiptOut:
    return await run_in_threadpool(partial(ledger.redeem, session, desk=runtime.ledger,
                                           partner=partner, idempotency_key=idempotency_key,
                                           request=body))


@router.post("/redemptions/{redemption_id}/void", response_model=ReceiptOut)
async def void(redemption_id: uuid.UUID, body: VoidIn, partner: PartnerDep,
               session: SessionDep, runtime: RuntimeDep) -> ReceiptOut:
    return await run_in_threadpool(partial(ledger.void, session, desk=runtime.ledger,
                                           partner=partner, redemption_id=redemption_id,
                                           request=body))


@router.post("/holder/history", response_model=list[HolderEvent])
async def holder_history(body: HolderHistoryIn, request: Request, session: SessionDep,
                         runtime: RuntimeDep) -> list[HolderEvent]:
    """Public: a cardholder sees which partners verified or redeemed their card, and when."""
    return await run_in_threadpool(partial(
        history.holder_history, session, desk=runtime.cards, limiter=runtime.limiter,
        limit=runtime.holder_history_limit, client=client_address(request),
        card_number=body.card_number, date_of_birth=body.date_of_birth,
        issue_number=body.issue_number))
