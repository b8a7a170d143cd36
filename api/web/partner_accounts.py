"""A partner admin's page: the partner's own desk accounts (list, add, deactivate).

Every call is scoped to the signed-in admin's partner: the service finds no other partner's
account, so another partner's account id is simply "not found".
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import PARTNER_ADMIN, Rule, only
from api.deps import Principal, RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from cityid.roles import Role
from staff import service as staff_service
from staff.models import StaffAccount
from staff.schemas import PartnerAccountCreate

router = APIRouter(route_class=pages.WebRoute, tags=["web: partner"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/partner/accounts"): only(PARTNER_ADMIN),
    ("POST", "/partner/accounts"): only(PARTNER_ADMIN),
    ("POST", "/partner/accounts/{staff_id}/deactivate"): only(PARTNER_ADMIN),
    ("POST", "/partner/accounts/{staff_id}/reactivate"): only(PARTNER_ADMIN),
}
LABELS = {"username": "Username", "password": "Initial password"}


def _partner_id(principal: Principal) -> uuid.UUID:
    assert principal.partner is not None
    return principal.partner.partner_id


def _show(request: Request, principal: Principal, accounts: list[StaffAccount], *,
          error: str | None = None, invalid: tuple[str, ...] = (),
          status_code: int = 200) -> Response:
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "partner/accounts.html", {
        "partner": principal.partner,
        "accounts": sorted(accounts, key=lambda a: (not a.active, a.username)),
        "error": error, "invalid": invalid,
        "values": {"username": forms.text(form, "username") or ""}}, status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    with unit_of_work(pages.runtime_of(request).sessions) as session:
        accounts = staff_service.list_accounts(session, partner_id=_partner_id(principal))
    return _show(request, principal, accounts, error=exc.detail,
                 invalid=getattr(exc, "fields", ()), status_code=pages.status_for(exc))


@router.get("/partner/accounts")
def accounts_page(request: Request, principal: pages.StaffPage,
                  session: SessionDep) -> Response:
    return _show(request, principal,
                 staff_service.list_accounts(session, partner_id=_partner_id(principal)))


@router.post("/partner/accounts")
@pages.on_error(_show_error)
def add_account(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
                runtime: RuntimeDep) -> Response:
    username = forms.text(form, "username")
    password = form.get("password")
    new = forms.validated(PartnerAccountCreate, {
        "username": username.lower() if username else None,
        "password": password if isinstance(password, str) else None,
        "role": Role.PARTNER_DESK}, LABELS)
    staff_service.create_account(session, actor=principal.actor, username=new.username,
                                 password=new.password, role=Role.PARTNER_DESK,
                                 clock=runtime.clock, partner_id=_partner_id(principal))
    return pages.see_other("/partner/accounts")


def _set_active(staff_id: uuid.UUID, active: bool, principal: Principal, session: SessionDep,
                runtime: RuntimeDep) -> Response:
    staff_service.update_account(session, actor=principal.actor, staff_id=staff_id,
                                 active=active, role=None, clock=runtime.clock,
                                 partner_id=_partner_id(principal))
    return pages.see_other("/partner/accounts")


@router.post("/partner/accounts/{staff_id}/deactivate")
@pages.on_error(_show_error)
def deactivate(staff_id: uuid.UUID, _form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    """Ends the account's sessions at once."""
    return _set_active(staff_id, False, principal, session, runtime)


@router.post("/partner/accounts/{staff_id}/reactivate")
@pages.on_error(_show_error)
def reactivate(staff_id: uuid.UUID, _form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    return _set_active(staff_id, True, principal, session, runtime)
