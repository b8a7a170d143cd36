"""The desk's day: worklists by state and site, print batches, mailing and pickup.

Lists show references, states and waiting times; the person's data appears only on the
application page a clerk opens from them. Each action posts a form, calls one service function
and comes back here (post/redirect/get); an error shows the page again with the message.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import SUPERVISOR, Rule
from api.deps import Principal, RuntimeDep, SessionDep
from api.runtime import Runtime
from api.web import forms, pages
from api.web.clerk import DESK, words
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from fulfilment import service as fulfilment
from fulfilment import worklists
from fulfilment.schemas import SiteIn
from fulfilment.service import FulfilmentDesk
from fulfilment.states import Step
from fulfilment.worklists import Worklist

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/worklists"): DESK,
    ("POST", "/clerk/print-batches"): DESK,
    ("GET", "/clerk/print-batches/{batch_id}/print.pdf"): DESK,
    ("POST", "/clerk/print-batches/{batch_id}/printed"): DESK,
    ("POST", "/clerk/cards/{card_id}/fulfilment/{step}"): DESK,
}
# The form steps a page may post, by the name in its URL.
STEPS = {"mail": Step.MAIL, "ready": Step.MAKE_READY, "returned": Step.RETURN_UNDELIVERABLE,
         "not-received": Step.REPORT_NOT_RECEIVED, "picked-up": Step.PICK_UP}
HEADINGS = {
    Worklist.DRAFTS: "Drafts", Worklist.WAITING_FOR_DOCUMENTS: "Waiting for documents",
    Worklist.IN_REVIEW: "In review", Worklist.SECOND_APPROVAL: "Waiting for a second approval",
    Worklist.DUPLICATES: "Duplicates to resolve", Worklist.CARDS_TO_PRINT: "Cards to print",
    Worklist.CARDS_PRINTED: "Printed: mail or put on the counter",
    Worklist.CARDS_IN_THE_MAIL: "In the mail", Worklist.WAITING_FOR_PICKUP: "Waiting for pickup",
}


def _desk(runtime: Runtime) -> FulfilmentDesk:
    return FulfilmentDesk.of(runtime.cards)


def _site(value: str | None, runtime: Runtime) -> str:
    site = value or _desk(runtime).rules.default_site
    return forms.validated(SiteIn, {"site_code": site}, {"site_code": "Site"}).site_code


def worklists_url(site: str) -> str:
    return "/clerk/worklists?site=" + quote(site, safe="")


def _page(request: Request, principal: Principal, runtime: Runtime, session: Session,
          site: str, *, error: str | None = None, status_code: int = 200) -> Response:
    desk = _desk(runtime)
    lists = [(w, HEADINGS[w], worklists.worklist(
        session, desk=desk, actor=principal.actor, query=worklists.Query(w, site_code=site)))
        for w in Worklist if w is not Worklist.DUPLICATES or principal.role == SUPERVISOR]
    batches = [b for b in fulfilment.list_batches(session, desk=desk, actor=principal.actor,
                                                  site_code=site) if b.printed_at is None]
    return pages.render(request, "clerk/worklists.html", {
        "site": site, "lists": lists, "batches": batches, "error": error, "words": words,
        "identity_checks": sorted(desk.rules.identity_checks)}, status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    runtime = pages.runtime_of(request)
    site = request.query_params.get("site") or _desk(runtime).rules.default_site
    try:
        site = _site(site, runtime)
    except AppError:
        site = _desk(runtime).rules.default_site
    # The failed request's transaction was rolled back: the page is read in a fresh one.
    with unit_of_work(runtime.sessions) as session:
        return _page(request, principal, runtime, session, site, error=exc.detail,
                     status_code=pages.status_for(exc))


@router.get("/clerk/worklists")
@pages.on_error(_show_error)
def worklists_page(request: Request, principal: pages.StaffPage, session: SessionDep,
                   runtime: RuntimeDep, site: str | None = None) -> Response:
    return _page(request, principal, runtime, session, _site(site, runtime))


@router.post("/clerk/print-batches")
@pages.on_error(_show_error)
def start_batch(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
                runtime: RuntimeDep) -> Response:
    site = _site(forms.text(form, "site_code"), runtime)
    fulfilment.create_batch(session, desk=_desk(runtime), actor=principal.actor,
                            site_code=site, limit=200)
    return pages.see_other(worklists_url(site) + "#batches")


@router.get("/clerk/print-batches/{batch_id}/print.pdf")
def batch_pdf(batch_id: uuid.UUID, principal: pages.StaffPage, session: SessionDep,
              runtime: RuntimeDep) -> Response:
    pdf = fulfilment.batch_pdf(session, desk=_desk(runtime), actor=principal.actor,
                               batch_id=batch_id)
    # Shown in the browser's PDF viewer, whose print button sends it to the card printer.
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": 'inline; filename="batch.pdf"'})


@router.post("/clerk/print-batches/{batch_id}/printed")
@pages.on_error(_show_error)
def batch_printed(batch_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
                  session: SessionDep, runtime: RuntimeDep) -> Response:
    batch = fulfilment.confirm_printed(session, desk=_desk(runtime), actor=principal.actor,
                                       batch_id=batch_id)
    return pages.see_other(worklists_url(batch.site_code) + "#cards_printed")


@router.post("/clerk/cards/{card_id}/fulfilment/{step}")
@pages.on_error(_show_error)
def card_step(card_id: uuid.UUID, step: str, form: StaffForm, principal: pages.StaffPage,
              session: SessionDep, runtime: RuntimeDep) -> Response:
    chosen = STEPS.get(step)
    if chosen is None:
        raise forms.FormInvalid(["step"], {"step": "Step"})
    identity_check = None
    if chosen is Step.PICK_UP:
        identity_check = forms.reason(form, "identity_check")
        forms.confirmed(form)
    out = fulfilment.take_step(session, desk=_desk(runtime), actor=principal.actor,
                               card_id=card_id, step=chosen, identity_check=identity_check)
    return pages.see_other(worklists_url(out.site_code))
