from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Response

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from idcard import actions as card_actions
from idcard import service as cards
from idcard.schemas import CardAction, CardOut, RenewIn

router = APIRouter(prefix="/v1", tags=["cards"])
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/applications/{reference}/cards", response_model=list[CardOut])
def cards_of_application(reference: str, principal: PrincipalDep, session: SessionDep,
                         runtime: RuntimeDep) -> list[CardOut]:
    return cards.cards_for_application(session, desk=runtime.cards, actor=principal.actor,
                                       reference=reference)


@router.get("/cards/{card_id}", response_model=CardOut)
def get_card(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
             runtime: RuntimeDep) -> CardOut:
    return cards.get_card(session, desk=runtime.cards, actor=principal.actor, card_id=card_id)


@router.get("/cards/{card_id}/image", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def card_image(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
               runtime: RuntimeDep, side: Literal["front", "back"] = "front") -> Response:
    png = cards.card_image(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                           side=side)
    return Response(png, media_type="image/png", headers=NO_STORE)


@router.get("/cards/{card_id}/print.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def card_pdf(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
             runtime: RuntimeDep) -> Response:
    pdf = cards.card_pdf(session, desk=runtime.cards, actor=principal.actor, card_id=card_id)
    return Response(pdf, media_type="application/pdf", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="card-{card_id}.pdf"'})


@router.post("/cards/{card_id}/revoke", response_model=CardOut)
def revoke(card_id: uuid.UUID, body: CardAction, principal: PrincipalDep, session: SessionDep,
           runtime: RuntimeDep) -> CardOut:
    return card_actions.revoke(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                               reason=body.reason)


@router.post("/cards/{card_id}/suspend", response_model=CardOut)
def suspend(card_id: uuid.UUID, body: CardAction, principal: PrincipalDep, session: SessionDep,
            runtime: RuntimeDep) -> CardOut:
    return card_actions.suspend(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                                reason=body.reason)


@router.post("/cards/{card_id}/unsuspend", response_model=CardOut)
def unsuspend(card_id: uuid.UUID, body: CardAction, principal: PrincipalDep,
              session: SessionDep, runtime: RuntimeDep) -> CardOut:
    return card_actions.unsuspend(session, desk=runtime.cards, actor=principal.actor,
                                  card_id=card_id, reason=body.reason)


@router.post("/cards/{card_id}/replace", response_model=CardOut)
def replace(card_id: uuid.UUID, body: CardAction, principal: PrincipalDep, session: SessionDep,
            runtime: RuntimeDep) -> CardOut:
    return card_actions.replace(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                                reason=body.reason)


@router.post("/cards/{card_id}/renew", response_model=CardOut)
def renew(card_id: uuid.UUID, body: RenewIn, principal: PrincipalDep, session: SessionDep,
          runtime: RuntimeDep) -> CardOut:
    return card_actions.renew(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                              reason=body.reason)
