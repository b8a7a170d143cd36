"""The administrators' pages: the home, and staff accounts (list, add, deactivate).

Partners, benefits and reports join this area as modules of their own.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import ADMIN, AUDITOR, Rule, only
from api.deps import Principal, RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from cityid.roles import PARTNER_ROLES, Role
from staff import service as staff_service
from staff.models import StaffAccount

router = APIRouter(route_class=pages.WebRoute, tags=["web: admin"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/admin"): only(ADMIN, AUDITOR),
    ("GET", "/admin/staff"): only(ADMIN),
    ("POST", "/admin/staff"): only(ADMIN),
    ("POST", "/admin/staff/{staff_id}/deactivate"): only(ADMIN),
    ("POST", "/admin/staff/{staff_id}/reactivate"): only(ADMIN),
}


# Roles as the staff page says them; the codes stay in the forms and the API.
ROLE_NAMES: dict[str, str] = {
    Role.CLERK: "Enrollment clerk", Role.SUPERVISOR: "Supervisor", Role.ADMIN: "Administrator",
    Role.AUDITOR: "Auditor", Role.PARTNER_ADMIN: "Partner administrator",
    Role.PARTNER_DESK: "Partner desk",
}


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role, role.replace("_", " ").capitalize())


@router.get("/admin")
def home(request: Request, _principal: pages.StaffPage) -> Response:
    return pages.render(request, "admin/home.html")


def _show(request: Request, accounts: list[StaffAccount], *, error: str | None = None,
          invalid: tuple[str, ...] = (), status_code: int = 200) -> Response:
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "admin/staff.html", {
        "accounts": sorted(accounts, key=lambda a: (not a.active, a.username)),
        "roles": [r.value for r in Role if r not in PARTNER_ROLES], "error": error,
        "invalid": invalid, "role_name": role_name,
        "values": {"username": forms.text(form, "username") or "",
                   "role": forms.text(form, "role") or ""}},
        status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    with unit_of_work(pages.runtime_of(request).sessions) as session:
        accounts = staff_service.list_accounts(session)
    return _show(request, accounts, error=exc.detail, invalid=getattr(exc, "fields", ()),
                 status_code=pages.status_for(exc))


@router.get("/admin/staff")
def staff_page(request: Request, _principal: pages.StaffPage, session: SessionDep) -> Response:
    return _show(request, staff_service.list_accounts(session))


@router.post("/admin/staff")
@pages.on_error(_show_error)
def add_staff(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
              runtime: RuntimeDep) -> Response:
    new = forms.new_staff(form)
    staff_service.create_account(session, actor=principal.actor, username=new.username,
                                 password=new.password, role=new.role, clock=runtime.clock)
    return pages.see_other("/admin/staff")


def _set_active(staff_id: uuid.UUID, active: bool, principal: Principal,
                session: SessionDep, runtime: RuntimeDep) -> Response:
    staff_service.update_account(session, actor=principal.actor, staff_id=staff_id,
                                 active=active, role=None, clock=runtime.clock)
    return pages.see_other("/admin/staff")


@router.post("/admin/staff/{staff_id}/deactivate")
@pages.on_error(_show_error)
def deactivate(staff_id: uuid.UUID, _form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    """Ends the account's sessions at once; its audit history stays."""
    return _set_active(staff_id, False, principal, session, runtime)


@router.post("/admin/staff/{staff_id}/reactivate")
@pages.on_error(_show_error)
def reactivate(staff_id: uuid.UUID, _form: StaffForm, principal: pages.StaffPage,
               session: SessionDep, runtime: RuntimeDep) -> Response:
    return _set_active(staff_id, True, principal, session, runtime)
