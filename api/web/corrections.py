"""The clerk's corrections before the decision: the details form, the photo on file, and
withdrawing a document record made in error. Each posts a form, calls one service function and
goes back to the application page (post/redirect/get); an error shows the form again with the
message."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from api.access import Rule
from api.deps import RuntimeDep, SessionDep
from api.web import forms, pages
from api.web.clerk import CARD_LANGUAGES, DESK, application_error, application_url
from api.web.csrf import StaffForm
from cityid.db import unit_of_work
from cityid.errors import AppError
from enrollment import corrections
from enrollment import service as enrollment
from enrollment.correction_schemas import ApplicationEdit
from enrollment.schemas import ApplicationOut
from enrollment.states import BEFORE_DECISION

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/applications/{reference}/edit"): DESK,
    ("POST", "/clerk/applications/{reference}/edit"): DESK,
    ("GET", "/clerk/applications/{reference}/photo"): DESK,
    ("POST", "/clerk/applications/{reference}/documents/{document_id}/withdraw"): DESK,
}
REQUIRED = ("first_name", "last_name", "date_of_birth")


def edit_form(form: FormData) -> ApplicationEdit:
    """The details form as a correction of every field it shows."""
    missing = [name for name in REQUIRED if forms.text(form, name) is None]
    if missing:
        raise forms.FormInvalid(missing, forms.APPLICATION_LABELS)
    kind = forms.text(form, "address_kind") or "home"
    if kind not in forms.ADDRESS_KINDS:
        raise forms.FormInvalid(["address_kind"], forms.APPLICATION_LABELS)
    address = care_of = None
    if kind == "home":
        address = forms._address(form)
    elif kind == "care_of":
        care_of = {**forms._address(form), "organisation": forms.text(form, "organisation")}
    languages = [lang for lang in (forms.text(form, "language_1"), forms.text(form, "language_2"))
                 if lang]
    contact = None
    if forms.text(form, "ec_name") or forms.text(form, "ec_phone"):
        contact = {"name": forms.text(form, "ec_name"), "phone": forms.text(form, "ec_phone")}
    data = {
        "first_name": forms.text(form, "first_name"),
        "middle_name": forms.text(form, "middle_name"),
        "last_name": forms.text(form, "last_name"),
        "date_of_birth": forms.text(form, "date_of_birth"),
        "address": address, "care_of": care_of,
        "designations": {"gender": forms.text(form, "gender"), "languages": languages,
                         "veteran": forms.checked(form, "veteran"),
                         "organ_donor": forms.checked(form, "organ_donor"),
                         "emergency_contact": contact},
    }
    try:
        return ApplicationEdit.model_validate(data)
    except ValidationError as exc:
        fields = [forms._application_field(tuple(str(p) for p in e["loc"]))
                  for e in exc.errors() if e["loc"]]
        raise forms.FormInvalid(fields, forms.APPLICATION_LABELS) from None


def _values(view: ApplicationOut) -> dict[str, Any]:
    """The form's fields as the application holds them now."""
    place = view.address or view.care_of
    languages = [*view.designations.languages, "", ""]
    contact = view.designations.emergency_contact
    return {
        "first_name": view.first_name, "middle_name": view.middle_name or "",
        "last_name": view.last_name, "date_of_birth": view.date_of_birth.isoformat(),
        "address_kind": "home" if view.address else "care_of" if view.care_of else "none",
        "organisation": view.care_of.organisation if view.care_of else "",
        "line1": place.line1 if place else "", "line2": (place.line2 or "") if place else "",
        "city": place.city if place else "", "state": place.state if place else "",
        "postal_code": place.postal_code if place else "",
        "gender": view.designations.gender or "", "language_1": languages[0],
        "language_2": languages[1], "veteran": view.designations.veteran,
        "organ_donor": view.designations.organ_donor,
        "ec_name": contact.name if contact else "", "ec_phone": contact.phone if contact else "",
    }


def _show(request: Request, view: ApplicationOut, *, values: dict[str, Any] | None = None,
          error: str | None = None, invalid: tuple[str, ...] = (),
          status_code: int = 200) -> Response:
    return pages.render(request, "clerk/edit.html", {
        "app": view, "values": values if values is not None else _values(view),
        "error": error, "invalid": invalid, "languages": CARD_LANGUAGES,
        "labels": forms.APPLICATION_LABELS,
        "editable": view.status in BEFORE_DECISION}, status_code=status_code)


def _edit_error(request: Request, exc: AppError) -> Response:
    """The form again, with what the clerk typed and the message; read in a fresh transaction
    (the failed one was rolled back)."""
    principal = pages.principal_of(request)
    assert principal is not None
    runtime = pages.runtime_of(request)
    with unit_of_work(runtime.sessions) as session:
        view = enrollment.get_application(session, desk=runtime.enrollment,
                                          actor=principal.actor,
                                          reference=request.path_params["reference"])
    form = getattr(request.state, "form", None)
    values: dict[str, Any] | None = None
    if form is not None:
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        values.update({box: forms.checked(form, box) for box in ("veteran", "organ_donor")})
    return _show(request, view, values=values, error=exc.detail,
                 invalid=getattr(exc, "fields", ()), status_code=pages.status_for(exc))


@router.get("/clerk/applications/{reference}/edit")
def edit_page(reference: str, request: Request, principal: pages.StaffPage,
              session: SessionDep, runtime: RuntimeDep) -> Response:
    view = enrollment.get_application(session, desk=runtime.enrollment, actor=principal.actor,
                                      reference=reference)
    return _show(request, view)


@router.post("/clerk/applications/{reference}/edit")
@pages.on_error(_edit_error)
def save_edit(reference: str, form: StaffForm, principal: pages.StaffPage,
              session: SessionDep, runtime: RuntimeDep) -> Response:
    view = corrections.edit_application(session, desk=runtime.enrollment,
                                        actor=principal.actor, reference=reference,
                                        edit=edit_form(form))
    return pages.see_other(application_url(view.reference) + "#details")


@router.get("/clerk/applications/{reference}/photo")
def photo(reference: str, principal: pages.StaffPage, session: SessionDep,
          runtime: RuntimeDep) -> Response:
    jpeg = corrections.application_photo(session, desk=runtime.enrollment,
                                         actor=principal.actor, reference=reference)
    return Response(jpeg, media_type="image/jpeg")


@router.post("/clerk/applications/{reference}/documents/{document_id}/withdraw")
@pages.on_error(application_error("withdraw"))
def withdraw_document(reference: str, document_id: uuid.UUID, form: StaffForm,
                      principal: pages.StaffPage, session: SessionDep,
                      runtime: RuntimeDep) -> Response:
    view = corrections.withdraw_document(session, desk=runtime.enrollment,
                                         actor=principal.actor, reference=reference,
                                         document_id=document_id,
                                         reason=forms.reason(form))
    return pages.see_other(application_url(view.reference) + "#tally")
