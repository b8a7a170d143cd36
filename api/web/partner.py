"""The partner desk: a presented card is checked, and its holder's benefits redeemed.

The scan field takes what a USB or Bluetooth scanner types in keyboard mode (the QR text, then
Enter) or a pasted code. The camera reads the QR in the browser where ``BarcodeDetector`` exists;
elsewhere desk.js posts frames to ``/partner/scan-image``, which decodes them with zxing-cpp.
Either way the result is the partner's own policy at work: only its attributes, its benefits.

The QR never goes into a URL: the result page keeps it in the redeem forms' hidden fields, and
is served ``no-store`` like every page.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from api.access import PARTNER_ADMIN, PARTNER_DESK, Rule, only
from api.deps import Principal, RuntimeDep, SessionDep
from api.runtime import Runtime
from api.web import forms, pages
from api.web.csrf import StaffForm, StaffUpload
from cityid.errors import AppError
from idcard.offline import read_qr_from_image
from redemption import benefits as catalogue
from redemption import ledger, verification
from redemption.schemas import CardPresented, HolderBenefitState, RedemptionIn, VerifyIn
from redemption.service import PartnerAccess

router = APIRouter(route_class=pages.WebRoute, tags=["web: partner"])
DESK = only(PARTNER_DESK, PARTNER_ADMIN)
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/partner"): DESK,
    ("POST", "/partner/scan"): DESK,
    ("POST", "/partner/scan-image"): DESK,
    ("POST", "/partner/redeem"): DESK,
}

# The verifier's reason codes, as the desk says them.
REASONS = {
    "ok": "Card valid",
    "revoked": "Card revoked",
    "suspended": "Card suspended",
    "expired": "Card expired",
    "not_yet_valid": "Card not valid yet",
    "bad_signature": "Card not genuine: its signature does not match",
    "unknown_key": "Card signed with a key this program does not know",
    "unsupported": "Not a City ID card code",
    "unreadable": "The code could not be read",
    "status_list_stale": "The card's status could not be checked",
}
ATTRIBUTES = {"full_name": "Name", "date_of_birth": "Date of birth", "address": "Address",
              "card_number": "Card number", "expires_on": "Valid until",
              "holder_token": "Holder token", "photo": "Photo"}
LIMIT_PERIODS = {"lifetime": "once", "calendar_year": "per calendar year",
                 "calendar_month": "per calendar month", "rolling_days": "per {days} days"}


def purpose_words(code: str) -> str:
    return code.replace("_", " ").capitalize()


def reason_words(reason: str) -> str:
    return REASONS.get(reason, reason.replace("_", " ").capitalize())


def limit_words(state: HolderBenefitState) -> str:
    limit = state.benefit.limit
    if state.benefit.category == "membership":
        return f"Membership for {state.benefit.membership_days or limit.days} days"
    period = LIMIT_PERIODS[limit.period].format(days=limit.days)
    return f"{limit.count} {period}" if limit.count > 1 else f"Once {period}".replace(
        "Once once", "Once")


def _partner(principal: Principal) -> PartnerAccess:
    assert principal.partner is not None  # every partner role has one (api.deps.authorize)
    return principal.partner


def _address_lines(address: dict[str, Any] | None) -> list[str]:
    if not address:
        return ["None on record"]
    lines = [address.get("organisation") or "", address.get("line1") or "",
             address.get("line2") or "",
             " ".join(p for p in (address.get("city"), address.get("state"),
                                  address.get("postal_code")) if p)]
    if address.get("care_of"):
        lines.insert(0, "Care of:")
    return [line for line in lines if line]


def show_desk(request: Request, principal: Principal, *, result: dict[str, Any] | None = None,
              benefits: list[HolderBenefitState] | None = None, qr: str = "",
              receipt: Any = None, error: str | None = None, status_code: int = 200) -> Response:
    partner = _partner(principal)
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "partner/desk.html", {
        "partner": partner, "result": result, "benefits": benefits or [], "qr": qr,
        "receipt": receipt, "error": error, "attributes": ATTRIBUTES,
        "address_lines": _address_lines, "limit_words": limit_words,
        "purpose": forms.text(form, "purpose") or "",
        "purposes": [(code, purpose_words(code)) for code in partner.purposes],
        "incident_reference": forms.text(form, "incident_reference") or "",
        # A fresh key per page: a double-click or a resubmitted form redeems once.
        "idempotency_key": "web-" + secrets.token_urlsafe(24),
    }, status_code=status_code)


def _desk_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    form = getattr(request.state, "form", None) or {}
    return show_desk(request, principal, error=exc.detail, qr=forms.text(form, "qr") or "",
                     status_code=pages.status_for(exc))


def _check(request: Request, principal: Principal, session: Session, runtime: Runtime,
           qr: str | None, purpose: str | None, incident_reference: str | None) -> Response:
    """Verifies the card under the partner's policy; with a valid card and a partner that
    redeems, lists its benefits with the holder's state."""
    partner = _partner(principal)
    if not qr:
        raise forms.FormInvalid(["qr"], {"qr": "Card code"},
                                ["Scan the card's QR code or paste its text."])
    checked = verification.verify(
        session, desk=runtime.cards, guard=runtime.number_guard, partner=partner,
        request=forms.validated(VerifyIn, {"qr": qr, "purpose": purpose,
                                           "incident_reference": incident_reference},
                                {"qr": "Card code", "purpose": "Purpose of the check",
                                 "incident_reference": "Incident reference"}))
    benefits: list[HolderBenefitState] = []
    if checked.result == "valid" and "redeem" in partner.operations:
        benefits = catalogue.partner_catalogue(session, desk=runtime.ledger, partner=partner,
                                               presented=CardPresented(qr=qr))
    result = {"valid": checked.result == "valid", "reason": checked.reason,
              "words": reason_words(checked.reason), "disclosed": checked.disclosed}
    return show_desk(request, principal, result=result, benefits=benefits, qr=qr)


@router.get("/partner")
def desk(request: Request, principal: pages.StaffPage) -> Response:
    return show_desk(request, principal)


@router.post("/partner/scan")
@pages.on_error(_desk_error)
def scan(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
         runtime: RuntimeDep) -> Response:
    return _check(request, principal, session, runtime, forms.text(form, "qr"),
                  forms.text(form, "purpose"), forms.text(form, "incident_reference"))


@router.post("/partner/scan-image")
@pages.on_error(_desk_error)
def scan_image(request: Request, upload: StaffUpload, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    """A camera frame (desk.js, token in a header) or a photo of the card (the form). No code in
    a frame is 204, so the camera keeps looking."""
    form, image = upload
    qr = read_qr_from_image(image) if image else None
    purpose = forms.text(form, "purpose") if form is not None \
        else request.headers.get("x-purpose") or None
    incident_reference = forms.text(form, "incident_reference") if form is not None \
        else request.headers.get("x-incident-reference") or None
    if qr is None:
        if form is None:
            return Response(status_code=204)
        return show_desk(request, principal, result={
            "valid": False, "reason": "unreadable", "words": reason_words("unreadable"),
            "disclosed": {}}, status_code=422)
    return _check(request, principal, session, runtime, qr, purpose, incident_reference)


def _redemption(form: FormData) -> tuple[RedemptionIn, str | None]:
    request = forms.validated(RedemptionIn, {"qr": forms.text(form, "qr"),
                                             "benefit_id": forms.text(form, "benefit_id")},
                              {"qr": "Card code", "benefit_id": "Benefit"})
    return request, forms.text(form, "idempotency_key")


@router.post("/partner/redeem")
@pages.on_error(_desk_error)
def redeem(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    body, key = _redemption(form)
    receipt = ledger.redeem(session, desk=runtime.ledger, partner=_partner(principal),
                            idempotency_key=key, request=body)
    return show_desk(request, principal, receipt=receipt, qr=body.qr or "")
