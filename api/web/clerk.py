"""The clerk console: a new application, its documents and photo, the decision.

Each action posts a form, calls one service function and redirects back to the application page
(post/redirect/get). A domain error rolls the request back and shows the application page again
with the message beside the form that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import CLERK, SUPERVISOR, Rule, only
from api.deps import Principal, RuntimeDep, SessionDep
from api.runtime import Runtime
from api.web import forms, pages
from api.web.csrf import StaffForm, StaffUpload
from cityid.db import unit_of_work
from cityid.errors import AppError
from enrollment import corrections
from enrollment import service as enrollment
from enrollment.reference import InvalidReference, normalise_reference
from enrollment.schemas import ApplicationOut
from enrollment.states import BEFORE_DECISION, ApplicationStatus
from idcard import issuing
from idcard import service as cards
from idcard.lifecycle import lifecycle
from idcard.schemas import CardOut

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
DESK = only(CLERK, SUPERVISOR)
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk"): DESK,
    ("POST", "/clerk/find"): DESK,
    ("GET", "/clerk/applications/new"): DESK,
    ("POST", "/clerk/applications"): DESK,
    ("GET", "/clerk/applications/{reference}"): DESK,
    ("POST", "/clerk/applications/{reference}/documents"): DESK,
    ("POST", "/clerk/applications/{reference}/photo"): DESK,
    ("POST", "/clerk/applications/{reference}/submit"): DESK,
    ("POST", "/clerk/applications/{reference}/review"): DESK,
    ("POST", "/clerk/applications/{reference}/decision"): DESK,
}

# Languages a holder may list on the card (ISO 639-1), by their English names.
CARD_LANGUAGES = {"en": "English", "es": "Spanish", "zh": "Chinese", "ru": "Russian",
                  "bn": "Bengali", "ht": "Haitian Creole", "ko": "Korean", "ar": "Arabic",
                  "fr": "French", "pl": "Polish", "it": "Italian", "ur": "Urdu", "yi": "Yiddish",
                  "ja": "Japanese", "pt": "Portuguese", "hi": "Hindi", "tl": "Tagalog",
                  "vi": "Vietnamese"}


def words(code: str) -> str:
    """A code as words for the page: ``rulebook_satisfied`` reads "Rulebook satisfied"."""
    return code.replace("_", " ").capitalize()


def application_url(reference: str) -> str:
    return "/clerk/applications/" + quote(reference, safe="-")


# --- the application page -------------------------------------------------------------------


def _document_kinds(runtime: Runtime) -> list[dict[str, Any]]:
    documents = runtime.rulebook.spec.documents
    return [{"kind": k.kind, "label": k.label, "category": k.category.value,
             "points": documents[k.kind].points,
             "date": "expiry" if k.needs_expiry_date else "issue" if k.needs_issue_date else "",
             "photo": k.photo, "dob": k.date_of_birth}
            for k in runtime.rulebook.document_kinds()]


def _card_reasons(role: str | None) -> dict[str, list[str]]:
    rules = lifecycle()
    return {action: rules.reasons_for(action, role) for action in ("revoke", "replace", "renew")}


def show_application(request: Request, principal: Principal, view: ApplicationOut,
                     card_list: list[CardOut], *, error: str | None = None,
                     section: str | None = None, invalid: tuple[str, ...] = (),
                     status_code: int = 200) -> Response:
    runtime = pages.runtime_of(request)
    requirements = runtime.rulebook.spec.requirements
    latest = max((c.issue_number for c in card_list), default=None)
    form = getattr(request.state, "form", None) or {}
    return pages.render(request, "clerk/application.html", {
        "app": view, "kinds": _document_kinds(runtime), "words": words,
        "required_total": requirements.total_points,
        "required_points": {c.value: n for c, n in requirements.category_points.items()},
        "reasons": {k: sorted(v) for k, v in enrollment.reason_codes().items()},
        "withdraw_reasons": sorted(corrections.withdraw_reasons()),
        "supervisor": principal.role == SUPERVISOR,
        "cards": sorted(card_list, key=lambda c: -c.issue_number), "latest_issue": latest,
        # The header says what the card is now; the application stays "card issued" for good.
        "current_card": next((c for c in card_list if c.issue_number == latest), None),
        "card_reasons": _card_reasons(principal.role),
        "error": error, "section": section, "invalid": invalid,
        "values": {k: forms.text(form, k) or "" for k in ("kind", "expires_on", "issued_on")},
    }, status_code=status_code)


def _read_page(principal: Principal, session: Session, runtime: Runtime,
               reference: str) -> tuple[ApplicationOut, list[CardOut]]:
    view = enrollment.get_application(session, desk=runtime.enrollment, actor=principal.actor,
                                      reference=reference)
    card_list: list[CardOut] = []
    if view.status not in BEFORE_DECISION and view.status != ApplicationStatus.DENIED:
        card_list = cards.cards_for_application(session, desk=runtime.cards,
                                                actor=principal.actor, reference=reference)
    return view, card_list


def application_error(section: str) -> Callable[[Request, AppError], Response]:
    """Shows the application page again, in a fresh transaction (the failed one was rolled
    back), with the message beside the section whose form failed."""

    def view(request: Request, exc: AppError) -> Response:
        principal = pages.principal_of(request)
        assert principal is not None
        runtime = pages.runtime_of(request)
        reference = request.path_params["reference"]
        with unit_of_work(runtime.sessions) as session:
            app_view, card_list = _read_page(principal, session, runtime, reference)
        message = exc.detail
        return show_application(request, principal, app_view, card_list, error=message,
                                section=section, invalid=getattr(exc, "fields", ()),
                                status_code=pages.status_for(exc))

    return view


# --- home and a new application ------------------------------------------------------------


@router.get("/clerk")
def home(request: Request, principal: pages.StaffPage) -> Response:
    return pages.render(request, "clerk/home.html", {
        "supervisor": principal.role == SUPERVISOR, "error": None})


def _find_error(request: Request, exc: AppError) -> Response:
    principal = pages.principal_of(request)
    return pages.render(request, "clerk/home.html", {
        "supervisor": principal is not None and principal.role == SUPERVISOR,
        "error": exc.detail}, status_code=pages.status_for(exc))


@router.post("/clerk/find")
@pages.on_error(_find_error)
def find(form: StaffForm) -> Response:
    """Opens an application by the reference the applicant reads out."""
    try:
        reference = normalise_reference(forms.text(form, "reference") or "")
    except InvalidReference:
        raise InvalidReference("That is not a valid reference; check the 12 letters and "
                               "digits.") from None
    return pages.see_other(application_url(reference))


def _new_form(request: Request, *, error: str | None = None, invalid: tuple[str, ...] = (),
              status_code: int = 200) -> Response:
    form = getattr(request.state, "form", None)
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)} if form else {}
    return pages.render(request, "clerk/new.html", {
        "values": values, "error": error, "invalid": invalid,
        "languages": CARD_LANGUAGES, "relationships": forms.CARETAKER_RELATIONSHIPS,
        "labels": forms.APPLICATION_LABELS}, status_code=status_code)


@router.get("/clerk/applications/new")
def new_application(request: Request, _principal: pages.StaffPage) -> Response:
    return _new_form(request)


@router.post("/clerk/applications")
@pages.on_error(lambda request, exc: _new_form(request, error=exc.detail,
                                                invalid=getattr(exc, "fields", ()),
                                                status_code=pages.status_for(exc)))
def create_application(form: StaffForm, principal: pages.StaffPage, session: SessionDep,
                       runtime: RuntimeDep) -> Response:
    view = enrollment.create_application(session, desk=runtime.enrollment,
                                         actor=principal.actor, data=forms.application(form))
    return pages.see_other(application_url(view.reference))


@router.get("/clerk/applications/{reference}")
def application_page(reference: str, request: Request, principal: pages.StaffPage,
                     session: SessionDep, runtime: RuntimeDep) -> Response:
    view, card_list = _read_page(principal, session, runtime, reference)
    return show_application(request, principal, view, card_list)


# --- documents, photo and the workflow steps ------------------------------------------------


@router.post("/clerk/applications/{reference}/documents")
@pages.on_error(application_error("documents"))
def add_document(reference: str, form: StaffForm, principal: pages.StaffPage,
                 session: SessionDep, runtime: RuntimeDep) -> Response:
    view = enrollment.add_document(session, desk=runtime.enrollment, actor=principal.actor,
                                   reference=reference, document=forms.document(form))
    return pages.see_other(application_url(view.reference) + "#tally")


@router.post("/clerk/applications/{reference}/photo")
@pages.on_error(application_error("photo"))
def set_photo(reference: str, upload: StaffUpload, principal: pages.StaffPage,
              session: SessionDep, runtime: RuntimeDep) -> Response:
    _, image = upload
    view = enrollment.set_photo(session, desk=runtime.enrollment, actor=principal.actor,
                                reference=reference, image=image)
    return pages.see_other(application_url(view.reference) + "#photo")


def _advance(step: str, reference: str, principal: Principal, session: Session,
             runtime: Runtime) -> Response:
    view = enrollment.advance(session, desk=runtime.enrollment, actor=principal.actor,
                              reference=reference, step=step)
    return pages.see_other(application_url(view.reference) + "#workflow")


@router.post("/clerk/applications/{reference}/submit")
@pages.on_error(application_error("workflow"))
def submit(reference: str, _form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    return _advance("submit", reference, principal, session, runtime)


@router.post("/clerk/applications/{reference}/review")
@pages.on_error(application_error("workflow"))
def review(reference: str, _form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    return _advance("review", reference, principal, session, runtime)


@router.post("/clerk/applications/{reference}/decision")
@pages.on_error(application_error("decision"))
def decide(reference: str, form: StaffForm, principal: pages.StaffPage, session: SessionDep,
           runtime: RuntimeDep) -> Response:
    """An approval issues the card in the same transaction; the page then shows it."""
    if forms.text(form, "outcome") == "deny":
        forms.confirmed(form)
    view = issuing.decide_and_issue_card(session, desk=runtime.cards, actor=principal.actor,
                                         reference=reference, decision=forms.decision(form))
    anchor = "#cards" if view.status == ApplicationStatus.CARD_ISSUED else "#workflow"
    return pages.see_other(application_url(view.reference) + anchor)

