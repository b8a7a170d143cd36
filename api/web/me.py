"""The holder's self-service page, /me: public, in the program's eight languages, like /status.

The card number and date of birth travel in POST bodies only. A one-time code sent to the
contact on file opens a holder session, kept in an HttpOnly, SameSite=Strict cookie scoped to
/me; every action after that needs it, and every form carries the double-submit token."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from babel.dates import format_date, format_datetime
from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from api.access import HOLDER, PUBLIC, Rule
from api.deps import RuntimeDep, SessionDep, client_address
from api.web import pages
from api.web.csrf import CsrfRefused, PublicForm
from api.web.forms import text
from api.web.wording import languages, load_words
from cityid.errors import AppError
from enrollment import i18n
from holder import codes
from holder import service as holder
from holder.codes import HolderContext
from holder.errors import CodeNotAccepted, ContactInvalid, HolderSessionRequired
from holder.schemas import Channel

router = APIRouter(route_class=pages.WebRoute, tags=["web: holders"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/me"): PUBLIC,
    ("POST", "/me/code"): PUBLIC,
    ("POST", "/me/session"): PUBLIC,
    ("POST", "/me/lock"): HOLDER,
    ("POST", "/me/replace"): HOLDER,
    ("POST", "/me/renew"): HOLDER,
    ("POST", "/me/contact"): HOLDER,
    ("POST", "/me/contact/confirm"): HOLDER,
    ("POST", "/me/contact/remove"): HOLDER,
    ("POST", "/me/notifications"): HOLDER,
    ("POST", "/me/signout"): HOLDER,
}
COOKIE = "cityid_holder"
LOCALE_DIR = Path(__file__).with_name("locale") / "me"
CHANNELS: tuple[Channel, ...] = ("email", "sms")


@lru_cache(maxsize=len(i18n.SUPPORTED))
def words(lang: str) -> Mapping[str, str]:
    """The page's wording in ``lang``; every catalog has every key of the English one."""
    return load_words(LOCALE_DIR, lang, "web locale me")


class MeFormInvalid(AppError):
    code = "me_form_invalid"

    def __init__(self, message: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


def _language(request: Request, chosen: str | None) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def _page(request: Request, lang: str, step: str, *, status_code: int = 200,
          **context: Any) -> Response:
    return pages.render(request, "me.html", {
        "t": words(lang), "languages": languages(), "current": lang, "step": step,
        "values": {}, "invalid": (), "error": None, "notice": None, **context,
    }, status_code=status_code, lang=i18n.html_lang(lang), direction=i18n.direction(lang))


def _context(request: Request, session: SessionDep, runtime: RuntimeDep) -> HolderContext:
    return codes.resolve_session(session, desk=runtime.holder, token=request.cookies.get(COOKIE))


def _dashboard(request: Request, session: SessionDep, runtime: RuntimeDep,
               context: HolderContext, lang: str, *, notice: str | None = None,
               **extra: Any) -> Response:
    me = holder.overview(session, desk=runtime.holder, context=context)
    events = holder.card_history(session, desk=runtime.holder, context=context)
    locale = i18n.LOCALE_IDS[lang]
    return _page(request, lang, "card", me=me, notice=notice, **extra,
                 dates={"expires": format_date(me.card.expires_on, "long", locale=locale),
                        "renewal_opens": format_date(me.card.renewal_opens_on, "long",
                                                     locale=locale)},
                 history=[{"partner": e.partner, "event": e.event,
                           "when": format_datetime(e.at, "medium", locale=locale)}
                          for e in events])


def _done(lang: str) -> Response:
    return pages.see_other(f"/me?lang={lang}&done=1")


def _show_error(request: Request, exc: AppError) -> Response:
    """A refusal shown on the page it came from, in the holder's language. The route's
    transaction has rolled back; what the page needs is read in a unit of its own."""
    from cityid.db import unit_of_work

    form: Mapping[str, Any] = getattr(request.state, "form", None) or {}
    lang = _language(request, text(form, "lang"))
    t = words(lang)
    message = t["error_form"] if isinstance(exc, CsrfRefused) else exc.detail
    status = pages.status_for(exc)
    fields: tuple[str, ...] = getattr(exc, "fields", ())
    if request.url.path in ("/me/code", "/me/session") or isinstance(exc, HolderSessionRequired):
        values = {k: text(form, k) or "" for k in ("card_number", "dob_month", "dob_day",
                                                   "dob_year")}
        response = _page(request, lang, "start", values=values, error=message, invalid=fields,
                         status_code=status)
    else:
        runtime = pages.runtime_of(request)
        with unit_of_work(runtime.sessions) as session:
            try:
                context = _context(request, session, runtime)
            except HolderSessionRequired:
                return _page(request, lang, "start", error=message, status_code=status)
            response = _dashboard(request, session, runtime, context, lang, error=message,
                                  invalid=fields, status_code=status)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/me")
def me_page(request: Request, session: SessionDep, runtime: RuntimeDep, lang: str | None = None,
            done: str | None = None,
            accept_language: Annotated[str | None, Header()] = None) -> Response:
    chosen = i18n.negotiate(accept_language, lang)
    try:
        context = _context(request, session, runtime)
    except HolderSessionRequired:
        return _page(request, chosen, "start")
    return _dashboard(request, session, runtime, context, chosen,
                      notice=words(chosen)["done"] if done else None)


def _date_of_birth(form: Mapping[str, Any], lang: str) -> date:
    parts = [text(form, name) or "" for name in ("dob_year", "dob_month", "dob_day")]
    try:
        year, month, day = (int(p) for p in parts)
        born = date(year, month, day)
    except ValueError:
        raise MeFormInvalid(words(lang)["error_dob"],
                            ("dob_month", "dob_day", "dob_year")) from None
    if year < 1900:
        raise MeFormInvalid(words(lang)["error_dob"], ("dob_year",))
    return born


def _card_number(form: Mapping[str, Any], lang: str) -> str:
    number = "".join((text(form, "card_number") or "").split())
    if len(number) != 16 or not number.isdigit():
        raise MeFormInvalid(words(lang)["error_card_number"], ("card_number",))
    return number


@router.post("/me/code")
@pages.on_error(_show_error)
def ask_code(request: Request, form: PublicForm, session: SessionDep,
             runtime: RuntimeDep) -> Response:
    lang = _language(request, text(form, "lang"))
    number, born = _card_number(form, lang), _date_of_birth(form, lang)
    answer = codes.request_code(session, desk=runtime.holder, card_number=number,
                                date_of_birth=born, client=client_address(request), lang=lang)
    return _page(request, lang, "code", message=answer.detail,
                 values={"card_number": number})


@router.post("/me/session")
@pages.on_error(_show_error)
def open_session(request: Request, form: PublicForm, session: SessionDep,
                 runtime: RuntimeDep) -> Response:
    lang = _language(request, text(form, "lang"))
    number = _card_number(form, lang)
    code = (text(form, "code") or "").strip()
    if len(code) != 6 or not code.isdigit():
        return _page(request, lang, "code", error=words(lang)["error_code"], invalid=("code",),
                     values={"card_number": number}, message="", status_code=422)
    opened = codes.exchange_code(session, desk=runtime.holder, card_number=number, code=code,
                                 client=client_address(request), lang=lang)
    if isinstance(opened, CodeNotAccepted):
        # Answered, not raised: the wrong try is counted against the code.
        return _page(request, lang, "code", error=opened.detail, invalid=("code",),
                     values={"card_number": number}, message="", status_code=422)
    response = pages.see_other(f"/me?lang={lang}")
    response.set_cookie(COOKIE, opened.token, path="/me", secure=runtime.settings.cookie_secure,
                        httponly=True, samesite="strict",
                        max_age=runtime.settings.holder_session_minutes * 60)
    return response


def _act(request: Request, form: Mapping[str, Any], session: SessionDep,
         runtime: RuntimeDep) -> tuple[HolderContext, str]:
    lang = _language(request, text(form, "lang"))
    return _context(request, session, runtime), lang


@router.post("/me/lock")
@pages.on_error(_show_error)
def lock(request: Request, form: PublicForm, session: SessionDep,
         runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    holder.lock_card(session, desk=runtime.holder, context=context)
    return _done(lang)


@router.post("/me/replace")
@pages.on_error(_show_error)
def replace(request: Request, form: PublicForm, session: SessionDep,
            runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    holder.request_replacement(session, desk=runtime.holder, context=context)
    return _done(lang)


@router.post("/me/renew")
@pages.on_error(_show_error)
def renew(request: Request, form: PublicForm, session: SessionDep,
          runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    holder.request_renewal(session, desk=runtime.holder, context=context)
    return _done(lang)


def _channel(form: Mapping[str, Any]) -> Channel:
    chosen = text(form, "channel")
    for channel in CHANNELS:
        if chosen == channel:
            return channel
    raise ContactInvalid()


@router.post("/me/contact")
@pages.on_error(_show_error)
def change_contact(request: Request, form: PublicForm, session: SessionDep,
                   runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    channel = _channel(form)
    try:
        sent = holder.start_contact_change(session, desk=runtime.holder, context=context,
                                           channel=channel, value=(text(form, "value") or "")
                                           .strip(), lang=lang)
    except ContactInvalid as exc:
        raise MeFormInvalid(exc.detail, (channel,)) from None
    return _page(request, lang, "confirm", message=sent.detail, channel=channel)


@router.post("/me/contact/confirm")
@pages.on_error(_show_error)
def confirm_contact(request: Request, form: PublicForm, session: SessionDep,
                    runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    channel = _channel(form)
    code = (text(form, "code") or "").strip()
    result = holder.confirm_contact_change(session, desk=runtime.holder, context=context,
                                           channel=channel, code=code, lang=lang)
    if isinstance(result, CodeNotAccepted):
        return _page(request, lang, "confirm", message="", channel=channel, error=result.detail,
                     invalid=("code",), status_code=422)
    return _done(lang)


@router.post("/me/contact/remove")
@pages.on_error(_show_error)
def remove_contact(request: Request, form: PublicForm, session: SessionDep,
                   runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    holder.remove_contact(session, desk=runtime.holder, context=context,
                          channel=_channel(form))
    return _done(lang)


@router.post("/me/notifications")
@pages.on_error(_show_error)
def choose_notices(request: Request, form: PublicForm, session: SessionDep,
                   runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    current = holder.overview(session, desk=runtime.holder, context=context).notifications
    for kind, was in current.items():
        wanted = text(form, kind) == "on"
        if wanted != was:
            holder.set_notice_choice(session, desk=runtime.holder, context=context, kind=kind,
                                     opted_in=wanted)
    return _done(lang)


@router.post("/me/signout")
@pages.on_error(_show_error)
def sign_out(request: Request, form: PublicForm, session: SessionDep,
             runtime: RuntimeDep) -> Response:
    context, lang = _act(request, form, session, runtime)
    codes.sign_out(session, desk=runtime.holder, context=context)
    response = pages.see_other(f"/me?lang={lang}")
    response.delete_cookie(COOKIE, path="/me", secure=runtime.settings.cookie_secure,
                           httponly=True, samesite="strict")
    return response
