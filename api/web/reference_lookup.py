"""The desk's lost-reference lookup: the applicant, in person, gives their name and date of
birth; the clerk gets the reference of each of their applications (enrollment/lookup.py).

The answer is shown on the page the form posts to, not after a redirect: a reference never goes
into a URL or the browser's history. Every page is ``no-store``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import Rule
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.clerk import DESK, application_url, words
from api.web.csrf import StaffForm
from cityid.errors import AppError
from enrollment import lookup
from enrollment.lookup import ReferenceLookupIn, ReferenceLookupOut

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/lookup"): DESK,
    ("POST", "/clerk/lookup"): DESK,
}
LABELS = {"first_name": "First name", "last_name": "Last name", "date_of_birth": "Date of birth"}


def _page(request: Request, *, result: ReferenceLookupOut | None = None,
          error: str | None = None, invalid: tuple[str, ...] = (),
          status_code: int = 200) -> Response:
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "clerk/lookup.html", {
        "result": result, "error": error, "invalid": invalid, "labels": LABELS,
        "words": words, "application_url": application_url,
        # Shown again only beside an error, to correct them; after a lookup the form is empty.
        "values": {k: (forms.text(form, k) or "") if result is None else "" for k in LABELS}},
        status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    return _page(request, error=exc.detail, invalid=getattr(exc, "fields", ()),
                 status_code=pages.status_for(exc))


@router.get("/clerk/lookup")
def lookup_page(request: Request, _principal: pages.StaffPage) -> Response:
    return _page(request)


@router.post("/clerk/lookup")
@pages.on_error(_show_error)
def lookup_reference(request: Request, form: StaffForm, principal: pages.StaffPage,
                     session: SessionDep, runtime: RuntimeDep) -> Response:
    query = forms.validated(ReferenceLookupIn, {k: forms.text(form, k) for k in LABELS}, LABELS)
    result = lookup.lookup_reference(session, desk=runtime.enrollment, actor=principal.actor,
                                     guard=runtime.reference_lookup_guard, query=query)
    return _page(request, result=result)
