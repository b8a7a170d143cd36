"""The public booking pages: pick a centre and a time, get a booking code and a printable
confirmation listing the documents to bring; change or cancel with the code. Eight languages,
right to left in Arabic. The booking code travels in POST bodies only, never the URL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import APIRouter, Header, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.access import PUBLIC, Rule
from api.deps import SessionDep, client_address
from api.web import pages
from api.web.csrf import PublicForm
from api.web.forms import checked, text
from api.web.wording import load_words
from appointments import service as booking
from appointments.rules import load_rules
from appointments.schemas import AppointmentOut, BookingIn, RescheduleIn
from cityid.errors import AppError
from enrollment import i18n
from sites.service import get_site

router = APIRouter(route_class=pages.WebRoute, tags=["web: appointments"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/appointments"): PUBLIC,
    ("POST", "/appointments"): PUBLIC,
    ("GET", "/appointments/manage"): PUBLIC,
    ("POST", "/appointments/manage"): PUBLIC,
}
LOCALE_DIR = Path(__file__).with_name("appointments_locale")
SLOT_DAYS = 21


@lru_cache(maxsize=len(i18n.SUPPORTED))
def words(lang: str) -> Mapping[str, str]:
    """These pages' wording in ``lang``; every catalog has every key of the English one."""
    return load_words(LOCALE_DIR, lang, "appointments locale")


class BookingFormInvalid(AppError):
    code = "booking_form_invalid"


def _language(request: Request, chosen: str | None) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def _when(at: datetime, zone: str, lang: str) -> dict[str, str]:
    local = at.astimezone(ZoneInfo(zone))
    locale = i18n.LOCALE_IDS[lang]
    return {"day": format_date(local.date(), format="full", locale=locale),
            "time": format_time(local.time(), format="short", locale=locale),
            "iso": local.isoformat()}


def _page(request: Request, lang: str, template: str, status_code: int = 200,
          **context: Any) -> Response:
    languages = [{"code": c, "name": i18n.language_name(c), "tag": i18n.html_lang(c)}
                 for c in i18n.SUPPORTED]
    return pages.render(request, template, {
        "t": words(lang), "current": lang, "languages": languages, **context},
        status_code=status_code, lang=i18n.html_lang(lang), direction=i18n.direction(lang))


def _message(exc: AppError, lang: str) -> str:
    t = words(lang)
    return t.get(f"error_{exc.code}", t["error_generic"])


def _slot_days(session: Session, request: Request, site_id: uuid.UUID,
               lang: str) -> tuple[Any, list[dict[str, Any]]]:
    desk = booking_desk_now(request)
    site, slots = booking.open_slots(session, clock=desk.clock, site_id=site_id, first=None,
                                     days=SLOT_DAYS)
    days: dict[str, dict[str, Any]] = {}
    seen: set[datetime] = set()
    for slot in slots:
        if slot.starts_at in seen:  # one choice per time, whichever desk is free
            continue
        seen.add(slot.starts_at)
        when = _when(slot.starts_at, site.time_zone, lang)
        days.setdefault(when["day"], {"label": when["day"], "times": []})["times"].append(
            {"id": str(slot.id), "label": when["time"], "iso": when["iso"]})
    return site, list(days.values())


def booking_desk_now(request: Request) -> booking.BookingDesk:
    runtime = pages.runtime_of(request)
    return booking.BookingDesk(vault=runtime.vault, limiter=runtime.limiter, clock=runtime.clock,
                               rules=load_rules(), rulebook=runtime.rulebook)


@router.get("/appointments")
def booking_page(request: Request, session: SessionDep, lang: str | None = None,
                 site: uuid.UUID | None = None,
                 accept_language: Annotated[str | None, Header()] = None) -> Response:
    lang = i18n.negotiate(accept_language, lang)
    if site is None:
        return _page(request, lang, "appointments/sites.html",
                     sites=booking.public_sites(session))
    found, days = _slot_days(session, request, site, lang)
    return _page(request, lang, "appointments/book.html", site=found, days=days, values={},
                 interpreter_languages=_interpreter_languages())


def _interpreter_languages() -> list[dict[str, str]]:
    return [{"code": c, "name": i18n.language_name(c)} for c in i18n.SUPPORTED]


def _confirmation(request: Request, lang: str, appointment: AppointmentOut,
                  time_zone: str, *, heading: str) -> Response:
    return _page(request, lang, "appointments/confirmation.html", appointment=appointment,
                 when=_when(appointment.starts_at, time_zone, lang), heading=heading)


def _show_error(request: Request, exc: AppError) -> Response:
    form: Mapping[str, Any] = getattr(request.state, "form", None) or {}
    lang = _language(request, text(form, "lang"))
    response = _page(request, lang, "appointments/problem.html", message=_message(exc, lang),
                     site_id=text(form, "site_id"), status_code=pages.status_for(exc))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/appointments")
@pages.on_error(_show_error)
def book(request: Request, form: PublicForm, session: SessionDep) -> Response:
    lang = _language(request, text(form, "lang"))
    try:
        data = BookingIn(slot_id=text(form, "slot_id") or "", first_name=text(form, "first_name")
                         or "", contact=text(form, "contact"),
                         party_size=int(text(form, "party_size") or "1"),
                         interpreter=checked(form, "interpreter"),
                         interpreter_language=text(form, "interpreter_language")
                         if checked(form, "interpreter") else None, lang=lang)
    except (ValidationError, ValueError):
        raise BookingFormInvalid() from None
    desk = booking_desk_now(request)
    made = booking.book(session, desk=desk, data=data, lang=lang, client=client_address(request))
    zone = get_site(session, made.site_id).time_zone
    return _confirmation(request, lang, made, zone, heading=words(lang)["confirmation_title"])


@router.get("/appointments/manage")
def manage_page(request: Request, lang: str | None = None,
                accept_language: Annotated[str | None, Header()] = None) -> Response:
    return _page(request, i18n.negotiate(accept_language, lang), "appointments/manage.html")


@router.post("/appointments/manage")
@pages.on_error(_show_error)
def manage(request: Request, form: PublicForm, session: SessionDep) -> Response:
    lang = _language(request, text(form, "lang"))
    code, action = text(form, "code") or "", text(form, "action") or "find"
    desk, client = booking_desk_now(request), client_address(request)
    t = words(lang)
    if action == "cancel":
        done = booking.cancel(session, desk=desk, code=code, client=client)
        zone = get_site(session, done.site_id).time_zone
        return _confirmation(request, lang, done, zone, heading=t["cancelled_title"])
    if action == "reschedule":
        try:
            change = RescheduleIn(code=code, slot_id=text(form, "slot_id") or "")
        except ValidationError:
            raise BookingFormInvalid() from None
        moved = booking.reschedule(session, desk=desk, data=change, client=client)
        zone = get_site(session, moved.site_id).time_zone
        return _confirmation(request, lang, moved, zone, heading=t["rescheduled_title"])
    found = booking.find(session, desk=desk, code=code, client=client)
    site, days = _slot_days(session, request, found.site_id, lang)
    return _page(request, lang, "appointments/manage.html", appointment=found, code=code,
                 when=_when(found.starts_at, site.time_zone, lang), days=days)
