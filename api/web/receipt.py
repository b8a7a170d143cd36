"""The applicant's receipt, printed at the desk: in the applicant's language (right to left in
Arabic), with the reference, what happens next, how to check the status and the documents still
missing. Its words are a catalog per language beside the status page's (``receipt_locale/``);
the status label and next step come from enrollment's catalogs, as on the status page."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import Rule
from api.deps import RuntimeDep, SessionDep
from api.routers.corrections import status_page_url
from api.web import pages
from api.web.clerk import DESK, application_url
from api.web.wording import languages, load_words
from enrollment import i18n
from enrollment import receipt as receipts

router = APIRouter(route_class=pages.WebRoute, tags=["web: clerk"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/clerk/applications/{reference}/receipt"): DESK,
}

LOCALE_DIR = Path(__file__).with_name("receipt_locale")


@lru_cache(maxsize=len(i18n.SUPPORTED))
def words(lang: str) -> Mapping[str, str]:
    """The receipt's wording in ``lang``; every catalog has every key of the English one."""
    return load_words(LOCALE_DIR, lang, "receipt locale")


def missing_words(t: Mapping[str, str], code: str, points: int | None) -> str:
    text = t["missing_" + code]
    return text.replace("{points}", str(points)) if points is not None else text


@router.get("/clerk/applications/{reference}/receipt")
def receipt_page(reference: str, request: Request, principal: pages.StaffPage,
                 session: SessionDep, runtime: RuntimeDep,
                 lang: str | None = None) -> Response:
    slip = receipts.receipt(session, desk=runtime.enrollment, actor=principal.actor,
                            reference=reference, lang=lang,
                            status_url=status_page_url(runtime.settings))
    t = words(slip.lang)
    return pages.render(request, "receipt.html", {
        "t": t, "receipt": slip, "languages": languages(), "current": slip.lang,
        "missing": [missing_words(t, m.code, m.points) for m in slip.missing],
        "back": application_url(slip.reference),
        "self_url": application_url(slip.reference) + "/receipt",
    }, lang=i18n.html_lang(slip.lang), direction=i18n.direction(slip.lang))
