"""Staff sign-in and sign-out for every web page.

The session cookie holds the same opaque token the API hands out as a bearer token; it is
HttpOnly, Secure (``settings.cookie_secure``), SameSite=Strict, for the whole site, and dies
after ``settings.web_idle_minutes`` without use (checked by ``api.deps.authorize``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import ANY_STAFF, PUBLIC, Rule
from api.deps import PrincipalDep, RuntimeDep, SessionDep, client_address
from api.web import pages
from api.web.csrf import CsrfRefused, PublicForm, StaffForm
from api.web.forms import text
from cityid.errors import AppError
from staff import service as staff_service
from staff.errors import InvalidCredentials

router = APIRouter(route_class=pages.WebRoute, tags=["web: staff"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): PUBLIC,
    ("POST", "/signout"): ANY_STAFF,
}


def _show_error(request: Request, exc: AppError) -> Response:
    form = getattr(request.state, "form", None) or {}
    status = 403 if isinstance(exc, CsrfRefused) else pages.status_for(exc)
    response = pages.sign_in_page(request, message=exc.detail, status_code=status,
                                  username=text(form, "username") or "",
                                  next_url=text(form, "next"))
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/signin")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return pages.sign_in_page(request, message=None, status_code=200, next_url=next or "")


@router.post("/signin")
@pages.on_error(_show_error)
def sign_in(request: Request, form: PublicForm, session: SessionDep,
            runtime: RuntimeDep) -> Response:
    password = form.get("password")
    try:
        token = staff_service.sign_in(
            session, username=(text(form, "username") or "")[:64],
            password=password[:1024] if isinstance(password, str) else "",
            client=client_address(request), limiter=runtime.limiter,
            policy=runtime.sign_in_policy, ttl=runtime.token_ttl, clock=runtime.clock,
            second_factor=(text(form, "second_factor") or "")[:32] or None, vault=runtime.vault)
    except InvalidCredentials as exc:
        # Answered, not raised, so the request's transaction commits the failure's audit entry.
        return _show_error(request, exc)
    response = pages.see_other(pages.safe_next(text(form, "next"))
                               or pages.HOME[token.role.value])
    pages.set_session_cookie(response, token.value, secure=runtime.settings.cookie_secure)
    return response


@router.post("/signout")
def sign_out(_form: StaffForm, principal: PrincipalDep, session: SessionDep,
             runtime: RuntimeDep) -> Response:
    assert principal.token is not None
    staff_service.sign_out(session, actor=principal.actor, value=principal.token,
                           clock=runtime.clock)
    response = pages.see_other("/signin")
    pages.delete_session_cookie(response, secure=runtime.settings.cookie_secure)
    return response
