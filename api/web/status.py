"""The applicant's status page: public, in the program's eight languages.

The reference and the date of birth travel in the POST body only, never the URL. The page's own
words come from ``locale/<lang>.json``; the status and the next step from enrollment's catalogs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from api.access import PUBLIC, Rule
from api.deps import RuntimeDep, SessionDep, client_address
from api.web import pages
from api.web.csrf import CsrfRefused, PublicForm
from api.web.forms import text
from api.web.wording import languages, load_words
from cityid.errors import AppError
from enrollment import i18n
from fulfilment import status_check

router = APIRouter(route_class=pages.WebRoute, tags=["web: applicants"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/status"): PUBLIC,
    ("POST", "/status"): PUBLIC,
}

LOCALE_DIR = Path(__file__).with_name("locale")


@lru_cache(maxsize=len(i18n.SUPPORTED))
def words(lang: str) -> Mapping[str, str]:
    """The page's own wording in ``lang``; every catalog has every key of the English one."""
    return load_words(LOCALE_DIR, lang, "web locale")


class StatusFormInvalid(AppError):
    code = "status_form_invalid"

    def __init__(self, message: str, fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.fields = fields


def _page(request: Request, lang: str, *, values: Mapping[str, str] | None = None,
          result: Any = None, error: str | None = None, fields: tuple[str, ...] = (),
          status_code: int = 200) -> Response:
    return pages.render(request, "status.html", {
        "t": words(lang), "languages": languages(), "current": lang,
        "html_lang": i18n.html_lang(lang), "values": values or {}, "result": result,
        "error": error, "invalid": fields,
    }, status_code=status_code, lang=i18n.html_lang(lang), direction=i18n.direction(lang))


def _language(request: Request, chosen: str | None) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def _date_of_birth(form: Mapping[str, Any], lang: str) -> date:
    parts = [text(form, name) or "" for name in ("dob_year", "dob_month", "dob_day")]
    try:
        year, month, day = (int(p) for p in parts)
        born = date(year, month, day)
    except ValueError:
        raise StatusFormInvalid(words(lang)["error_dob"],
                                ("dob_month", "dob_day", "dob_year")) from None
    if year < 1900:
        raise StatusFormInvalid(words(lang)["error_dob"], ("dob_year",))
    return born


def _show_error(request: Request, exc: AppError) -> Response:
    form: Mapping[str, Any] = getattr(request.state, "form", None) or {}
    lang = _language(request, text(form, "lang"))
    values = {k: text(form, k) or "" for k in ("reference", "dob_month", "dob_day", "dob_year")}
    fields: tuple[str, ...] = getattr(exc, "fields", ())
    message = words(lang)["error_form"] if isinstance(exc, CsrfRefused) else exc.detail
    response = _page(request, lang, values=values, error=message, fields=fields,
                     status_code=pages.status_for(exc))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/status")
def status_form(request: Request, lang: str | None = None,
                accept_language: Annotated[str | None, Header()] = None) -> Response:
    return _page(request, i18n.negotiate(accept_language, lang))


@router.post("/status")
@pages.on_error(_show_error)
def check_status(request: Request, form: PublicForm, session: SessionDep,
                 runtime: RuntimeDep) -> Response:
    lang = _language(request, text(form, "lang"))
    reference = text(form, "reference")
    if reference is None or len(reference) > 32:
        raise StatusFormInvalid(words(lang)["error_reference"], ("reference",))
    born = _date_of_birth(form, lang)
    result = status_check.check_status(
        session, desk=runtime.cards, limiter=runtime.limiter,
        policy=runtime.status_check_policy, reference=reference, date_of_birth=born, lang=lang,
        client=client_address(request))
    return _page(request, lang, result=result)
