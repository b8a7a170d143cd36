"""The partner desk: a presented card is checked, and its holder's benefits redeemed.

The scan field takes what a USB or Bluetooth scanner types in keyboard mode (the QR text, then
Enter) or a pasted code. The camera reads the QR in the browser where ``BarcodeDetector`` exists;
elsewhere desk.js posts frames to ``/partner/scan-image``, which decodes them with zxing-cpp.
Either way the result is the partner's own policy at work: only its attributes, its benefits.

When the QR is damaged, the desk checks the card by its number and the holder's date of birth
instead. Either way the card never goes into a URL: the result page keeps it in the redeem and
void forms' hidden fields, is served ``no-store`` like every page, and desk.js clears it from
the screen after ``partner_desk_clear_seconds``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
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
from partners.service import PartnerAccess
from redemption import ledger, verification
from redemption.schemas import (
    CardPresented,
    HolderBenefitState,
    ReceiptOut,
    RedemptionIn,
    VerifyIn,
    VoidIn,
)

router = APIRouter(route_class=pages.WebRoute, tags=["web: partner"])
DESK = only(PARTNER_DESK, PARTNER_ADMIN)
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/partner"): DESK,
    ("POST", "/partner/scan"): DESK,
    ("POST", "/partner/scan-image"): DESK,
    ("POST", "/partner/lookup"): DESK,
    ("POST", "/partner/redeem"): DESK,
    ("POST", "/partner/void"): DESK,
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
PRESENTED_LABELS = {"qr": "Card code", "card_number": "Card number",
                    "date_of_birth": "Date of birth", "benefit_id": "Benefit"}
VOID_REASONS = {"entered_in_error": "Entered in error", "holder_changed_mind":
                "The holder changed their mind", "duplicate_scan": "Scanned twice"}
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
              benefits: list[HolderBenefitState] | None = None,
              presented: Mapping[str, str] | None = None, receipt: ReceiptOut | None = None,
              confirm_void: bool = False, error: str | None = None,
              status_code: int = 200) -> Response:
    partner = _partner(principal)
    form = getattr(request.state, "form", None) or {}
    runtime = pages.runtime_of(request)
    return pages.render(request, "partner/desk.html", {
        "partner": partner, "result": result, "benefits": benefits or [],
        "presented": presented or {}, "receipt": receipt, "confirm_void": confirm_void,
        "void_reasons": VOID_REASONS, "local_time": lambda at: at.astimezone(runtime.ledger.zone),
        "error": error, "attributes": ATTRIBUTES,
        "address_lines": _address_lines, "limit_words": limit_words,
        "clear_seconds": runtime.settings.partner_desk_clear_seconds,
        "void_open": receipt is not None
        and runtime.clock.now() - receipt.redeemed_at <= runtime.ledger.void_window,
        "purpose": forms.text(form, "purpose") or "",
        "purposes": [(code, purpose_words(code)) for code in partner.purposes],
        "incident_reference": forms.text(form, "incident_reference") or "",
        # A fresh key per page: a double-click or a resubmitted form redeems once.
        "idempotency_key": "web-" + secrets.token_urlsafe(24),
    }, status_code=status_code)


def _presented(form: Mapping[str, Any]) -> dict[str, str]:
    """The card as the form carries it: its QR text, or its number with the date of birth."""
    if qr := forms.text(form, "qr"):
        return {"qr": qr}
    card_number = re.sub(r"[\s-]", "", forms.text(form, "card_number") or "")
    born = forms.text(form, "date_of_birth") or ""
    return {"card_number": card_number, "date_of_birth": born} if card_number or born else {}


def _desk_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    form = getattr(request.state, "form", None) or {}
    return show_desk(request, principal, error=exc.detail, presented=_presented(form),
                     status_code=pages.status_for(exc))


def _holder_benefits(session: Session, runtime: Runtime, partner: PartnerAccess,
                     presented: Mapping[str, str]) -> list[HolderBenefitState]:
    if "redeem" not in partner.operations:
        return []
    return ledger.partner_catalogue(
        session, desk=runtime.ledger, partner=partner,
        presented=forms.validated(CardPresented, dict(presented), PRESENTED_LABELS))


def _check(request: Request, principal: Principal, session: Session, runtime: Runtime,
           presented: Mapping[str, str], purpose: str | None,
           incident_reference: str | None) -> Response:
    """Verifies the card under the partner's policy; with a valid card and a partner that
    redeems, lists its benefits with the holder's state."""
    partner = _partner(principal)
    checked = verification.verify(
        session, desk=runtime.cards, guard=runtime.number_guard, partner=partner,
        request=forms.validated(VerifyIn, {**presented, "purpose": purpose,
                                           "incident_reference": incident_reference},
                                {**PRESENTED_LABELS, "purpose": "Purpose of the check",
                                 "incident_reference": "Incident reference"}))
    benefits: list[HolderBenefitState] = []
    if checked.result == "valid":
        benefits = _holder_benefits(session, runtime, partner, presented)
    result = {"valid": checked.result == "valid", "reason": checked.reason,
              "words": reason_words(checked.reason), "disclosed": checked.disclosed}
    return show_desk(request, principal, result=result, benefits=benefits, presented=presented)


@router.get("/partner")
def desk(request: Request, principal: pages.StaffPage) -> Response:
    return show_desk(request, principal)


@router.post("/partner/scan")
@pages.on_error(_desk_error)
def scan(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
         runtime: RuntimeDep) -> Response:
    qr = forms.text(form, "qr")
    if not qr:
        raise forms.FormInvalid(["qr"], {"qr": "Card code"},
                                ["Scan the card's QR code or paste its text."])
    return _check(request, principal, session, runtime, {"qr": qr},
                  forms.text(form, "purpose"), forms.text(form, "incident_reference"))


@router.post("/partner/lookup")
@pages.on_error(_desk_error)
def lookup(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    """A card whose QR will not scan: its number, as printed, and the holder's date of birth.
    An unknown number and a wrong date get the same answer (CardNotRecognised)."""
    presented = _presented({"card_number": forms.text(form, "card_number"),
                            "date_of_birth": forms.text(form, "date_of_birth")})
    missing = [name for name in ("card_number", "date_of_birth") if not presented.get(name)]
    if missing:
        raise forms.FormInvalid(missing, PRESENTED_LABELS,
                                ["Type the 16-digit card number and the holder's date of birth."])
    return _check(request, principal, session, runtime, presented, forms.text(form, "purpose"),
                  forms.text(form, "incident_reference"))


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
    return _check(request, principal, session, runtime, {"qr": qr}, purpose, incident_reference)


def _redemption(form: FormData) -> tuple[RedemptionIn, str | None]:
    request = forms.validated(RedemptionIn, {**_presented(form),
                                             "benefit_id": forms.text(form, "benefit_id")},
                              PRESENTED_LABELS)
    return request, forms.text(form, "idempotency_key")


@router.post("/partner/redeem")
@pages.on_error(_desk_error)
def redeem(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    """Redeems, then shows the receipt and the holder's benefits as they now stand."""
    body, key = _redemption(form)
    partner = _partner(principal)
    receipt = ledger.redeem(session, desk=runtime.ledger, partner=partner,
                            idempotency_key=key, request=body)
    presented = _presented(form)
    return show_desk(request, principal, receipt=receipt, presented=presented,
                     benefits=_holder_benefits(session, runtime, partner, presented))


@router.post("/partner/void")
@pages.on_error(_desk_error)
def void(request: Request, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
         runtime: RuntimeDep) -> Response:
    """Voids a receipt this partner recorded, within the void window (the API's rule, the same
    service). The first post asks for confirmation and a reason; the second, confirmed, voids."""
    partner = _partner(principal)
    try:
        redemption_id = uuid.UUID(forms.text(form, "redemption_id") or "")
    except ValueError:
        raise forms.FormInvalid(["redemption_id"], {"redemption_id": "Receipt"},
                                ["Void a receipt from this desk."]) from None
    presented = _presented(form)
    confirmed = forms.text(form, "confirm")
    if confirmed == "yes":
        body = forms.validated(VoidIn, {"reason": forms.text(form, "reason")},
                               {"reason": "Reason for voiding"})
        receipt = ledger.void(session, desk=runtime.ledger, partner=partner,
                              redemption_id=redemption_id, request=body)
    else:
        receipt = ledger.receipt(session, desk=runtime.ledger, partner=partner,
                                 redemption_id=redemption_id)
    benefits = _holder_benefits(session, runtime, partner, presented) if presented else []
    return show_desk(request, principal, receipt=receipt, presented=presented,
                     benefits=benefits, confirm_void=confirmed is None)
