"""Fees at the desk and in the administrators' reports.

The clerk opens a card's fee from the application page, and records it as paid in full (typing
the amount received, checked against the fee due) or waived with a reason code picked from the
list, none preselected. Amounts and codes only: the form asks for no payment detail. The
administrators' page shows the fee totals, small cells withheld.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import ADMIN, AUDITOR, Rule, only
from api.deps import Principal, RuntimeDep, SessionDep
from api.runtime import Runtime
from api.web import forms, pages
from api.web.clerk import DESK, application_url, words
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from fees import report
from fees import service as fees
from fees.schemas import FeeRecordIn
from idcard import service as cards
from idcard.errors import CardNotFound
from idcard.schemas import CardOut

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/applications/{reference}/cards/{card_id}/fee"): DESK,
    ("POST", "/clerk/applications/{reference}/cards/{card_id}/fee"): DESK,
    ("GET", "/admin/fees"): only(ADMIN, AUDITOR),
}
AMOUNT = re.compile(r"^\s*\$?\s*(\d{1,7})(?:[.,](\d{2}))?\s*$")
LABELS = {"amount": "Amount received", "waiver_reason": "Waiver reason", "outcome": "Outcome"}


def money(cents: int | None, currency: str) -> str:
    if cents is None:
        return "withheld"
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


def fee_url(reference: str, card_id: uuid.UUID) -> str:
    return application_url(reference) + f"/cards/{quote(str(card_id))}/fee"


def _cents(value: str | None) -> int:
    match = AMOUNT.match(value or "")
    if match is None:
        raise forms.FormInvalid(["amount"], LABELS, ["Type the amount as dollars and cents, "
                                                     "for example 10.00."])
    return int(match.group(1)) * 100 + int(match.group(2) or 0)


def _card(session: Session, principal: Principal, runtime: Runtime, reference: str,
          card_id: uuid.UUID) -> CardOut:
    """The card, if it is this application's: the page never shows another's fee under it."""
    for card in cards.cards_for_application(session, desk=runtime.cards, actor=principal.actor,
                                            reference=reference):
        if card.id == card_id:
            return card
    raise CardNotFound()


def _page(request: Request, principal: Principal, runtime: Runtime, session: Session,
          reference: str, card_id: uuid.UUID, *, error: str | None = None,
          invalid: tuple[str, ...] = (), status_code: int = 200) -> Response:
    card = _card(session, principal, runtime, reference, card_id)
    fee = fees.fee_of(session, desk=runtime.fees, actor=principal.actor, card_id=card_id)
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "clerk/fee.html", {
        "reference": reference, "card": card, "fee": fee, "money": money, "words": words,
        "application_url": application_url(reference), "action": fee_url(reference, card_id),
        "error": error, "invalid": invalid,
        "values": {"amount": forms.text(form, "amount") or ""}}, status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    runtime = pages.runtime_of(request)
    reference = request.path_params["reference"]
    card_id = uuid.UUID(request.path_params["card_id"])
    # The failed request's transaction was rolled back: the page is read in a fresh one.
    with unit_of_work(runtime.sessions) as session:
        return _page(request, principal, runtime, session, reference, card_id,
                     error=exc.detail, invalid=getattr(exc, "fields", ()),
                     status_code=pages.status_for(exc))


@router.get("/clerk/applications/{reference}/cards/{card_id}/fee")
def fee_page(reference: str, card_id: uuid.UUID, request: Request, principal: pages.StaffPage,
             session: SessionDep, runtime: RuntimeDep) -> Response:
    return _page(request, principal, runtime, session, reference, card_id)


@router.post("/clerk/applications/{reference}/cards/{card_id}/fee")
@pages.on_error(_show_error)
def record_fee(reference: str, card_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    _card(session, principal, runtime, reference, card_id)
    outcome = forms.text(form, "outcome")
    if outcome == "waived":
        entry = forms.validated(FeeRecordIn, {
            "outcome": "waived", "waiver_reason": forms.text(form, "waiver_reason")}, LABELS)
    elif outcome == "paid":
        entry = FeeRecordIn(outcome="paid", amount_cents=_cents(forms.text(form, "amount")))
    else:
        raise forms.FormInvalid(["outcome"], LABELS)
    fees.record(session, desk=runtime.fees, actor=principal.actor, card_id=card_id,
                entry=entry)
    return pages.see_other(fee_url(reference, card_id) + "#fee-state")


@router.get("/admin/fees")
def fees_page(request: Request, principal: pages.StaffPage, session: SessionDep,
              runtime: RuntimeDep) -> Response:
    totals = report.fee_report(session, clock=runtime.clock, actor=principal.actor,
                               output="page")
    return pages.render(request, "admin/fees.html", {"report": totals, "money": money,
                                                     "words": words})
