"""The clerk's day at their site: today's appointments by time with check-in, the walk-in
queue, and no-shows released after the grace period. Each action posts a form, calls one
service function and comes back to the day (post/redirect/get)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import CLERK, SUPERVISOR, Rule, only
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.csrf import StaffForm
from appointments import day as desk_day
from appointments.rules import load_rules
from appointments.schemas import WalkInIn
from cityid.db import unit_of_work
from cityid.errors import AppError
from enrollment import i18n
from sites import repository as site_repository
from sites import service as site_service

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
DESK = only(CLERK, SUPERVISOR)
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/day"): DESK,
    ("GET", "/clerk/day/{site_id}"): DESK,
    ("POST", "/clerk/day/{site_id}/check-in/{appointment_id}"): DESK,
    ("POST", "/clerk/day/{site_id}/walk-ins"): DESK,
    ("POST", "/clerk/day/{site_id}/walk-ins/{walk_in_id}/served"): DESK,
    ("POST", "/clerk/day/{site_id}/no-shows"): DESK,
}


def _desk(runtime: RuntimeDep) -> desk_day.DayDesk:
    return desk_day.DayDesk(vault=runtime.vault, clock=runtime.clock, rules=load_rules())


def _show(request: Request, session: Session, site_id: uuid.UUID, *, error: str | None = None,
          status_code: int = 200) -> Response:
    runtime = pages.runtime_of(request)
    principal = pages.principal_of(request)
    assert principal is not None
    site = site_service.get_site(session, site_id)
    day = desk_day.day(session, desk=_desk(runtime), actor=principal.actor, site_id=site_id)
    languages = [{"code": c, "name": i18n.language_name(c)} for c in i18n.SUPPORTED]
    return pages.render(request, "clerk/day.html", {
        "site": site, "day": day, "error": error, "languages": languages},
        status_code=status_code)


def _error(request: Request, exc: AppError) -> Response:
    # The request's transaction has rolled back by now: the page reads in one of its own.
    site_id = uuid.UUID(str(request.path_params["site_id"]))
    with unit_of_work(pages.runtime_of(request).sessions) as session:
        return _show(request, session, site_id, error=exc.detail,
                     status_code=pages.status_for(exc))


def _back(site_id: uuid.UUID) -> Response:
    return pages.see_other(f"/clerk/day/{site_id}")


@router.get("/clerk/day")
def my_sites(request: Request, principal: pages.StaffPage, session: SessionDep) -> Response:
    ids = site_repository.sites_of_staff(session, uuid.UUID(principal.id))
    sites = [site_service.get_site(session, i) for i in ids]
    return pages.render(request, "clerk/day_sites.html", {"sites": sites})


@router.get("/clerk/day/{site_id}")
def the_day(site_id: uuid.UUID, request: Request, _principal: pages.StaffPage,
            session: SessionDep) -> Response:
    return _show(request, session, site_id)


@router.post("/clerk/day/{site_id}/check-in/{appointment_id}")
@pages.on_error(_error)
def check_in(site_id: uuid.UUID, appointment_id: uuid.UUID, _form: StaffForm,
             principal: pages.StaffPage, session: SessionDep, runtime: RuntimeDep) -> Response:
    desk_day.check_in(session, desk=_desk(runtime), actor=principal.actor, site_id=site_id,
                      appointment_id=appointment_id)
    return _back(site_id)


@router.post("/clerk/day/{site_id}/walk-ins")
@pages.on_error(_error)
def add_walk_in(site_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
                session: SessionDep, runtime: RuntimeDep) -> Response:
    interpreter = forms.checked(form, "interpreter")
    data = forms.validated(WalkInIn, {
        "language": forms.text(form, "language") or "en", "interpreter": interpreter,
        "interpreter_language": forms.text(form, "language") if interpreter else None},
        {"language": "Language"})
    desk_day.add_walk_in(session, desk=_desk(runtime), actor=principal.actor, site_id=site_id,
                         data=data)
    return _back(site_id)


@router.post("/clerk/day/{site_id}/walk-ins/{walk_in_id}/served")
@pages.on_error(_error)
def serve_walk_in(site_id: uuid.UUID, walk_in_id: uuid.UUID, _form: StaffForm,
                  principal: pages.StaffPage, session: SessionDep,
                  runtime: RuntimeDep) -> Response:
    desk_day.serve_walk_in(session, desk=_desk(runtime), actor=principal.actor,
                           site_id=site_id, walk_in_id=walk_in_id)
    return _back(site_id)


@router.post("/clerk/day/{site_id}/no-shows")
@pages.on_error(_error)
def release_no_shows(site_id: uuid.UUID, _form: StaffForm, principal: pages.StaffPage,
                     session: SessionDep, runtime: RuntimeDep) -> Response:
    desk_day.release_no_shows(session, desk=_desk(runtime), actor=principal.actor,
                              site_id=site_id)
    return _back(site_id)
