"""Cards in the clerk console: the preview images, the print file and the lifecycle actions.

The images and the PDF hold a resident's name, photo and date of birth: they are served with
``no-store`` like every page, and only to the desk roles.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter
from starlette.responses import Response

from api.access import Rule
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.clerk import DESK, application_error, application_url
from api.web.csrf import StaffForm
from idcard import actions as card_actions
from idcard import service as cards

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/cards/{card_id}/image"): DESK,
    ("GET", "/clerk/cards/{card_id}/print.pdf"): DESK,
    ("POST", "/clerk/applications/{reference}/cards/{card_id}/revoke"): DESK,
    ("POST", "/clerk/applications/{reference}/cards/{card_id}/replace"): DESK,
    ("POST", "/clerk/applications/{reference}/cards/{card_id}/renew"): DESK,
}


@router.get("/clerk/cards/{card_id}/image")
def card_image(card_id: uuid.UUID, principal: pages.StaffPage, session: SessionDep,
               runtime: RuntimeDep, side: Literal["front", "back"] = "front") -> Response:
    png = cards.card_image(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                           side=side)
    return Response(png, media_type="image/png")


@router.get("/clerk/cards/{card_id}/print.pdf")
def card_pdf(card_id: uuid.UUID, principal: pages.StaffPage, session: SessionDep,
             runtime: RuntimeDep) -> Response:
    pdf = cards.card_pdf(session, desk=runtime.cards, actor=principal.actor, card_id=card_id)
    # Shown in the browser's PDF viewer, whose print button sends it to the card printer.
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": 'inline; filename="card.pdf"'})


@router.post("/clerk/applications/{reference}/cards/{card_id}/revoke")
@pages.on_error(application_error("cards"))
def report_lost_or_stolen(reference: str, card_id: uuid.UUID, form: StaffForm,
                          principal: pages.StaffPage, session: SessionDep,
                          runtime: RuntimeDep) -> Response:
    forms.confirmed(form)
    card_actions.revoke(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                        reason=forms.card_action(form).reason)
    return pages.see_other(application_url(reference) + "#cards")


@router.post("/clerk/applications/{reference}/cards/{card_id}/replace")
@pages.on_error(application_error("cards"))
def replace(reference: str, card_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
            session: SessionDep, runtime: RuntimeDep) -> Response:
    card_actions.replace(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                         reason=forms.card_action(form).reason)
    return pages.see_other(application_url(reference) + "#cards")


@router.post("/clerk/applications/{reference}/cards/{card_id}/renew")
@pages.on_error(application_error("cards"))
def renew(reference: str, card_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
          session: SessionDep, runtime: RuntimeDep) -> Response:
    card_actions.renew(session, desk=runtime.cards, actor=principal.actor, card_id=card_id,
                       reason=forms.card_action(form).reason)
    return pages.see_other(application_url(reference) + "#cards")
