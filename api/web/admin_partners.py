"""The administrators' partner pages: partners (create, activate, narrow the policy), their API
keys (create, shown once; revoke), their first partner admin, benefits, and the redemption report
as a table and as bars over months. Auditors read; only admins change anything."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import ADMIN, AUDITOR, Rule, only
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.chart import month_bars
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from cityid.roles import Role
from partners import keys as partner_keys
from partners import service as partners
from partners.schemas import KeyCreate, PartnerCreate, PartnerUpdate, Policy
from redemption import benefits as catalogue
from redemption import reports
from redemption.schemas import BenefitCreate, BenefitUpdate
from staff import service as staff_service
from staff.schemas import PartnerAccountCreate

router = APIRouter(route_class=pages.WebRoute, tags=["web: admin"])
READ, WRITE = only(ADMIN, AUDITOR), only(ADMIN)
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/admin/partners"): READ,
    ("POST", "/admin/partners"): WRITE,
    ("GET", "/admin/partners/{partner_id}"): READ,
    ("POST", "/admin/partners/{partner_id}/active"): WRITE,
    ("POST", "/admin/partners/{partner_id}/policy"): WRITE,
    ("POST", "/admin/partners/{partner_id}/keys"): WRITE,
    ("POST", "/admin/partners/{partner_id}/keys/{key_id}/revoke"): WRITE,
    ("POST", "/admin/partners/{partner_id}/accounts"): WRITE,
    ("GET", "/admin/benefits"): READ,
    ("POST", "/admin/benefits"): WRITE,
    ("POST", "/admin/benefits/{benefit_id}"): WRITE,
    ("GET", "/admin/reports"): READ,
}
PARTNER_TYPES = {"cultural": "Cultural institution", "library": "Library",
                 "benefit": "Benefit provider", "bank": "Bank", "credit_union": "Credit union",
                 "police": "Police"}
OPERATIONS = {"verify": "Verify a card", "kyc": "Identity for opening an account",
              "redeem": "Redeem benefits"}
ATTRIBUTES = {"validity": "Validity", "expires_on": "Expiry date",
              "holder_token": "Holder token", "full_name": "Full name",
              "date_of_birth": "Date of birth", "address": "Address",
              "card_number": "Card number", "photo": "Photo"}
PERIODS = {"lifetime": "Once ever", "calendar_year": "Per calendar year",
           "calendar_month": "Per calendar month", "rolling_days": "Per rolling days"}
BENEFIT_LABELS = {"partner_id": "Partner", "name": "Name", "category": "Kind",
                  "limit": "Limit", "count": "How many", "period": "Per", "days": "Days",
                  "membership_days": "Membership length (days)", "active_from": "Offered from",
                  "active_until": "Offered until"}


def _values(request: Request) -> dict[str, str]:
    form = getattr(request.state, "form", None)
    return {k: v for k, v in form.multi_items() if isinstance(v, str)
            and k not in ("password", "csrf_token")} if form else {}


# --- partners -------------------------------------------------------------------------------


def _partners_page(request: Request, session: Session, *, error: str | None = None,
                   invalid: tuple[str, ...] = (), status_code: int = 200) -> Response:
    return pages.render(request, "admin/partners.html", {
        "partners": partners.list_partners(session), "types": PARTNER_TYPES, "error": error,
        "invalid": invalid, "values": _values(request)}, status_code=status_code)


def _partners_error(request: Request, exc: AppError) -> Response:
    with unit_of_work(pages.runtime_of(request).sessions) as session:
        return _partners_page(request, session, error=exc.detail,
                              invalid=getattr(exc, "fields", ()),
                              status_code=pages.status_for(exc))


@router.get("/admin/partners")
def partners_page(request: Request, _principal: pages.StaffPage,
                  session: SessionDep) -> Response:
    return _partners_page(request, session)


@router.post("/admin/partners")
@pages.on_error(_partners_error)
def create_partner(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
                   runtime: RuntimeDep) -> Response:
    data = forms.validated(PartnerCreate, {"name": forms.text(form, "name"),
                                           "type": forms.text(form, "type")},
                           {"name": "Name", "type": "Type"})
    partner = partners.create_partner(session, actor=principal.actor, clock=runtime.clock,
                                      data=data)
    return pages.see_other(f"/admin/partners/{partner.id}")


def _partner_page(request: Request, session: Session, partner_id: uuid.UUID, *,
                  error: str | None = None, section: str | None = None,
                  invalid: tuple[str, ...] = (), new_key: Any = None,
                  status_code: int = 200) -> Response:
    partner = partners.get_partner(session, partner_id=partner_id)
    profile = partners.profiles()[partner.type]
    return pages.render(request, "admin/partner.html", {
        "partner": partner, "types": PARTNER_TYPES,
        "keys": sorted(partner_keys.list_keys(session, partner_id=partner_id),
                       key=lambda k: (k.revoked_at is not None, k.created_at)),
        "accounts": staff_service.list_accounts(session, partner_id=partner_id),
        "operations": {k: v for k, v in OPERATIONS.items() if k in profile["operations"]},
        "attributes": {k: v for k, v in ATTRIBUTES.items() if k in profile["attributes"]},
        "error": error, "section": section, "invalid": invalid, "new_key": new_key,
        "values": _values(request)}, status_code=status_code)


def _partner_error(section: str) -> Callable[[Request, AppError], Response]:
    def view(request: Request, exc: AppError) -> Response:
        partner_id = uuid.UUID(str(request.path_params["partner_id"]))
        with unit_of_work(pages.runtime_of(request).sessions) as session:
            return _partner_page(request, session, partner_id, error=exc.detail,
                                 section=section, invalid=getattr(exc, "fields", ()),
                                 status_code=pages.status_for(exc))

    return view


def partner_url(partner_id: uuid.UUID, anchor: str = "") -> str:
    return f"/admin/partners/{partner_id}" + (f"#{anchor}" if anchor else "")


@router.get("/admin/partners/{partner_id}")
def partner_page(partner_id: uuid.UUID, request: Request, _principal: pages.StaffPage,
                 session: SessionDep) -> Response:
    return _partner_page(request, session, partner_id)


@router.post("/admin/partners/{partner_id}/active")
@pages.on_error(_partner_error("state"))
def set_active(partner_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    partners.update_partner(session, actor=principal.actor, clock=runtime.clock,
                            partner_id=partner_id,
                            data=PartnerUpdate(active=forms.text(form, "active") == "true"))
    return pages.see_other(partner_url(partner_id, "state"))


@router.post("/admin/partners/{partner_id}/policy")
@pages.on_error(_partner_error("policy"))
def narrow_policy(partner_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
                  session: SessionDep, runtime: RuntimeDep) -> Response:
    policy = forms.validated(Policy, {
        "operations": [v for v in form.getlist("operations") if isinstance(v, str)],
        "attributes": [v for v in form.getlist("attributes") if isinstance(v, str)]},
        {"operations": "Operations", "attributes": "Attributes"})
    partners.update_partner(session, actor=principal.actor, clock=runtime.clock,
                            partner_id=partner_id, data=PartnerUpdate(policy=policy))
    return pages.see_other(partner_url(partner_id, "policy"))


@router.post("/admin/partners/{partner_id}/keys")
@pages.on_error(_partner_error("keys"))
def create_key(partner_id: uuid.UUID, request: Request, form: StaffForm,
               principal: pages.StaffPage, session: SessionDep,
               runtime: RuntimeDep) -> Response:
    """The key is on this answer only (no-store, never in a URL); the program keeps its hash."""
    data = forms.validated(KeyCreate, {"label": forms.text(form, "label"),
                                       "expires_in_days": forms.text(form, "expires_in_days")
                                       or 365},
                           {"label": "Label", "expires_in_days": "Valid for (days)"})
    key = partner_keys.create_key(session, actor=principal.actor, clock=runtime.clock,
                              partner_id=partner_id, data=data)
    return pages.render(request, "admin/new_key.html", {"key": key, "partner_id": partner_id},
                        status_code=201)


@router.post("/admin/partners/{partner_id}/keys/{key_id}/revoke")
@pages.on_error(_partner_error("keys"))
def revoke_key(partner_id: uuid.UUID, key_id: uuid.UUID, _form: StaffForm,
               principal: pages.StaffPage, session: SessionDep,
               runtime: RuntimeDep) -> Response:
    partner_keys.revoke_key(session, actor=principal.actor, clock=runtime.clock,
                        partner_id=partner_id, key_id=key_id)
    return pages.see_other(partner_url(partner_id, "keys"))


@router.post("/admin/partners/{partner_id}/accounts")
@pages.on_error(_partner_error("accounts"))
def create_partner_admin(partner_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
                         session: SessionDep, runtime: RuntimeDep) -> Response:
    """The partner's first partner admin; it manages the partner's desk accounts itself."""
    username = forms.text(form, "username")
    password = form.get("password")
    new = forms.validated(PartnerAccountCreate, {
        "username": username.lower() if username else None,
        "password": password if isinstance(password, str) else None,
        "role": Role.PARTNER_ADMIN}, {"username": "Username", "password": "Initial password"})
    staff_service.create_account(session, actor=principal.actor, username=new.username,
                                 password=new.password, role=Role.PARTNER_ADMIN,
                                 clock=runtime.clock, partner_id=partner_id)
    return pages.see_other(partner_url(partner_id, "accounts"))


# --- benefits -------------------------------------------------------------------------------


def _benefits_page(request: Request, session: Session, *, error: str | None = None,
                   invalid: tuple[str, ...] = (), status_code: int = 200) -> Response:
    partner_list = partners.list_partners(session)
    return pages.render(request, "admin/benefits.html", {
        "benefits": catalogue.list_benefits(session, partner_id=None),
        "partners": partner_list, "partner_names": {p.id: p.name for p in partner_list},
        "periods": PERIODS, "error": error, "invalid": invalid, "values": _values(request)},
        status_code=status_code)


def _benefits_error(request: Request, exc: AppError) -> Response:
    with unit_of_work(pages.runtime_of(request).sessions) as session:
        return _benefits_page(request, session, error=exc.detail,
                              invalid=getattr(exc, "fields", ()),
                              status_code=pages.status_for(exc))


@router.get("/admin/benefits")
def benefits_page(request: Request, _principal: pages.StaffPage,
                  session: SessionDep) -> Response:
    return _benefits_page(request, session)


def _new_benefit(form: Any) -> BenefitCreate:
    category = forms.text(form, "category")
    limit = None
    if category != "membership":
        limit = {"count": forms.text(form, "count") or 1, "period": forms.text(form, "period"),
                 "days": forms.text(form, "days")}
    return forms.validated(BenefitCreate, {
        "partner_id": forms.text(form, "partner_id"), "name": forms.text(form, "name"),
        "category": category, "limit": limit,
        "membership_days": forms.text(form, "membership_days")
        if category == "membership" else None,
        "active_from": forms.text(form, "active_from"),
        "active_until": forms.text(form, "active_until")}, BENEFIT_LABELS)


@router.post("/admin/benefits")
@pages.on_error(_benefits_error)
def create_benefit(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
                   runtime: RuntimeDep) -> Response:
    catalogue.create_benefit(session, actor=principal.actor, clock=runtime.clock,
                             data=_new_benefit(form))
    return pages.see_other("/admin/benefits")


@router.post("/admin/benefits/{benefit_id}")
@pages.on_error(_benefits_error)
def edit_window(benefit_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
                session: SessionDep, runtime: RuntimeDep) -> Response:
    data = forms.validated(BenefitUpdate, {"active_from": forms.text(form, "active_from"),
                                           "active_until": forms.text(form, "active_until")},
                           BENEFIT_LABELS)
    catalogue.update_benefit(session, actor=principal.actor, clock=runtime.clock,
                             benefit_id=benefit_id, data=data)
    return pages.see_other("/admin/benefits")


# --- reports --------------------------------------------------------------------------------


@router.get("/admin/reports")
def reports_page(request: Request, _principal: pages.StaffPage,
                 session: SessionDep) -> Response:
    cells = reports.redemptions_by_month(session)
    return pages.render(request, "admin/reports.html", {
        "cells": cells, "chart": month_bars(cells), "min_cell": reports.MIN_CELL})
