"""The supervisor's queue: possible duplicates to resolve, and where overrides are made.

An override is an approval the rulebook does not support; it is given on the application page,
by a supervisor, with an override reason code. There is no list of applications waiting for
one yet (the enrollment service offers no such query); the queue opens one by reference.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import SUPERVISOR, Rule, only
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from enrollment import duplicates as duplicate_queue
from enrollment import service as enrollment
from enrollment.schemas import DuplicateOut

router = APIRouter(route_class=pages.WebRoute, tags=["web: supervisor"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/queue"): only(SUPERVISOR),
    ("POST", "/clerk/queue/duplicates/{flag_id}/resolve"): only(SUPERVISOR),
}


def _show(request: Request, duplicates: list[DuplicateOut], *, error: str | None = None,
          status_code: int = 200) -> Response:
    return pages.render(request, "clerk/queue.html", {
        "duplicates": duplicates, "error": error,
        "resolutions": sorted(enrollment.reason_codes()["duplicate_resolution"]),
        "override_reasons": sorted(enrollment.reason_codes()["override"])},
        status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    assert principal is not None
    runtime = pages.runtime_of(request)
    with unit_of_work(runtime.sessions) as session:
        duplicates = duplicate_queue.list_duplicates(session, desk=runtime.enrollment,
                                                     actor=principal.actor)
    return _show(request, duplicates, error=exc.detail, status_code=pages.status_for(exc))


@router.get("/clerk/queue")
def queue(request: Request, principal: pages.StaffPage, session: SessionDep,
          runtime: RuntimeDep) -> Response:
    duplicates = duplicate_queue.list_duplicates(session, desk=runtime.enrollment,
                                                 actor=principal.actor)
    return _show(request, duplicates)


@router.post("/clerk/queue/duplicates/{flag_id}/resolve")
@pages.on_error(_show_error)
def resolve(flag_id: uuid.UUID, form: StaffForm, principal: pages.StaffPage,
            session: SessionDep, runtime: RuntimeDep) -> Response:
    resolution = forms.reason(form, "resolution")
    forms.confirmed(form)
    duplicate_queue.resolve_duplicate(session, desk=runtime.enrollment, actor=principal.actor,
                                      flag_id=flag_id,
                                      resolution=resolution)
    return pages.see_other("/clerk/queue")
