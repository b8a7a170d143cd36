"""Cross-site request forgery protection for every form, without server-side state.

- Signed-in staff: the form token is an HMAC of the session token under the vault's index key
  (``Vault.blind_index`` with its own purpose), a synchronizer token that changes with each
  session and that another site can neither read nor compute.
- No one signed in (the sign-in and status forms): a signed double-submit cookie. The cookie
  holds a random nonce; the form holds the HMAC of that nonce, so a cookie planted by a sibling
  domain is useless without the key.

Every POST is also refused unless it is a form (or, for the photo, an image with the token in a
header), so a JSON body never reaches a page route.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.deps import PrincipalDep
from api.runtime import Runtime
from cityid.errors import Forbidden

FIELD = "csrf_token"
HEADER = "x-csrf-token"
NONCE_COOKIE = "cityid_csrf"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CsrfRefused(Forbidden):
    code = "csrf_failed"
    title = "This form has expired or did not come from this site"

    def __init__(self) -> None:
        super().__init__("This form has expired or did not come from this site. Reload the "
                         "page and try again.")


def session_token(runtime: Runtime, session: str) -> str:
    return runtime.vault.blind_index("web-csrf/session", session)


def browser_token(runtime: Runtime, nonce: str) -> str:
    return runtime.vault.blind_index("web-csrf/browser", nonce)


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def browser_nonce(request: Request) -> str | None:
    nonce = request.cookies.get(NONCE_COOKIE)
    return nonce if nonce and _NONCE.match(nonce) else None


def set_nonce_cookie(response: Response, nonce: str, *, secure: bool) -> None:
    response.set_cookie(NONCE_COOKIE, nonce, path="/", secure=secure, httponly=True,
                        samesite="strict")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _read_form(request: Request) -> FormData:
    if media_type(request) not in FORM_TYPES:
        raise StarletteHTTPException(415, "Pages take form posts only.")
    form = await request.form()
    request.state.form = form  # an error page shows the form again with what was typed
    return form


def _matches(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


async def staff_form(request: Request, principal: PrincipalDep) -> FormData:
    """The posted form of a signed-in staff member, once its token is checked."""
    request.state.principal = principal  # for the error page, if there is one
    form = await _read_form(request)
    if principal.token is None or not _matches(form.get(FIELD),
                                               session_token(_runtime(request), principal.token)):
        raise CsrfRefused()
    return form


async def public_form(request: Request) -> FormData:
    """A posted form where no one is signed in: the double-submit cookie must match."""
    form = await _read_form(request)
    nonce = browser_nonce(request)
    if nonce is None or not _matches(form.get(FIELD), browser_token(_runtime(request), nonce)):
        raise CsrfRefused()
    return form


async def staff_upload(request: Request, principal: PrincipalDep) -> tuple[FormData | None,
                                                                          bytes]:
    """An image posted by a signed-in staff member: a script sends the bare image with the token
    in a header; without scripts, a multipart form carries both. Returns the form (if any) and
    the image."""
    request.state.principal = principal
    runtime = _runtime(request)
    expected = session_token(runtime, principal.token) if principal.token else None
    if media_type(request) in ("image/jpeg", "image/png"):
        if expected is None or not _matches(request.headers.get(HEADER), expected):
            raise CsrfRefused()
        return None, await request.body()
    if media_type(request) != "multipart/form-data":
        raise StarletteHTTPException(415, "Send a JPEG or PNG image, or the photo form.")
    form = await request.form()
    if expected is None or not _matches(form.get(FIELD), expected):
        raise CsrfRefused()
    upload = form.get("photo")
    if upload is None or isinstance(upload, str):
        return form, b""
    return form, await upload.read()


StaffForm = Annotated[FormData, Depends(staff_form)]
PublicForm = Annotated[FormData, Depends(public_form)]
StaffUpload = Annotated[tuple[FormData | None, bytes], Depends(staff_upload)]
