"""What every web page shares: the route class, templates, security headers and error pages.

Pages are server-rendered. A web route raises domain errors like an API route does, so the
request's transaction rolls back; :class:`WebRoute` then renders them as HTML instead of
problem+json: a sign-in form for 401, a plain page for 403, and for anything else the route's own
form again with the message (see :func:`on_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send

from api.deps import SESSION_COOKIE, Principal, PrincipalDep
from api.errors import HTTP_CODES, STATUS_FOR_KIND
from api.runtime import Runtime
from api.web import csrf
from cityid.errors import AppError, ErrorKind, Forbidden, Unauthenticated
from cityid.roles import Role
from staff.errors import InvalidToken

log = logging.getLogger("cityid.web")

HERE = Path(__file__).parent
# Autoescape everything: every value a page shows is escaped unless a template says otherwise.
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
    lstrip_blocks=True))

# Where each role starts (the sign-in page sends it there; the pages' brand link goes back).
HOME: dict[str, str] = {
    Role.CLERK: "/clerk", Role.SUPERVISOR: "/clerk", Role.ADMIN: "/admin", Role.AUDITOR: "/admin",
    Role.PARTNER_ADMIN: "/partner", Role.PARTNER_DESK: "/partner"}


def home_of(principal: Principal | None) -> str:
    if principal is None or principal.role is None:
        return "/signin"
    return HOME.get(principal.role, "/signin")


templates.env.globals["home_of"] = home_of

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Pages show personal data: never keep them in a shared browser's or a proxy's cache.
    "cache-control": "no-store",
    # The camera is used by the clerk console only, and only from this origin.
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}


# --- the route class ------------------------------------------------------------------------


def _with_security_headers(send: Send) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:  # a route may set its own cache policy
                    headers[name] = value
        await send(message)

    return sender


class WebRoute(APIRoute):
    """A page route: security headers on every response, and HTML for every error.

    FastAPI looks exception handlers up in the request scope when it starts the route, so the
    page handlers are put there for this route alone; the JSON API keeps problem+json."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handlers, status_handlers = scope.get("starlette.exception_handlers", ({}, {}))
        scope["starlette.exception_handlers"] = ({**handlers, **_HANDLERS}, status_handlers)
        await super().handle(scope, receive, _with_security_headers(send))


# --- rendering ------------------------------------------------------------------------------


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def staff_page(request: Request, principal: PrincipalDep) -> Principal:
    """The signed-in staff member, kept on the request so that an error page can still show
    the navigation and a form token. (csrf.staff_form does the same for posted forms.)"""
    request.state.principal = principal
    return principal


StaffPage = Annotated[Principal, Depends(staff_page)]


def principal_of(request: Request) -> Principal | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, lang: str = "en", direction: str = "ltr") -> Response:
    """A page, with the form token of the signed-in staff member, or of the browser's
    double-submit cookie where no one is signed in (sign-in and status forms)."""
    runtime = runtime_of(request)
    principal = principal_of(request)
    new_nonce = None
    if principal is not None and principal.token:
        token = csrf.session_token(runtime, principal.token)
    else:
        nonce = csrf.browser_nonce(request)
        if nonce is None:
            nonce = new_nonce = csrf.new_nonce()
        token = csrf.browser_token(runtime, nonce)
    values = {"principal": principal, "csrf_token": token, "lang": lang, "dir": direction,
              "path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    if new_nonce is not None:
        csrf.set_nonce_cookie(response, new_nonce, secure=runtime.settings.cookie_secure)
    return response


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get: a reload after a form shows the page, it does not post again."""
    return RedirectResponse(url, status_code=303)


def status_for(exc: AppError) -> int:
    return STATUS_FOR_KIND[exc.kind]


# --- errors ---------------------------------------------------------------------------------

ErrorView = Callable[[Request, AppError], Response]
_ERROR_VIEWS: dict[Callable[..., Any], ErrorView] = {}


def on_error(view: ErrorView) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declares how a route shows a domain error: usually its form again, with the message.

    The view runs after the route's transaction has rolled back, in a worker thread; if it
    needs the database it opens its own unit of work."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        _ERROR_VIEWS[endpoint] = view
        return endpoint

    return register


def _is_access_refusal(exc: AppError) -> bool:
    # What authorize raises: the bare errors and a dead session. Their subclasses are domain
    # rules (wrong password, an override needs a supervisor) that belong on the route's form.
    return type(exc) in (Unauthenticated, InvalidToken, Forbidden)


def sign_in_page(request: Request, *, message: str | None, status_code: int = 401,
                 username: str = "", next_url: str | None = None) -> Response:
    if next_url is None and request.method == "GET":
        next_url = request.url.path
    response = render(request, "signin.html", {
        "message": message, "username": username, "next": safe_next(next_url)},
        status_code=status_code)
    if request.cookies.get(SESSION_COOKIE):
        delete_session_cookie(response, secure=runtime_of(request).settings.cookie_secure)
    return response


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    return render(request, "error.html", {"title": title, "message": message},
                  status_code=status_code)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    status = status_for(exc)
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    view = _ERROR_VIEWS.get(endpoint) if endpoint is not None else None
    if view is not None and not _is_access_refusal(exc):
        try:
            return await run_in_threadpool(view, request, exc)
        except AppError as again:  # e.g. the application itself does not exist
            exc, status = again, status_for(again)
    if isinstance(exc, Unauthenticated):
        # The sign-in page must not use the rejected session for its form token.
        request.state.principal = None
        message = None
        if exc.code == "invalid_token":
            message = exc.detail if exc.detail != exc.title else "Your session has ended."
        return sign_in_page(request, message=message, status_code=401)
    title = "Not allowed" if exc.kind is ErrorKind.FORBIDDEN else exc.title
    return error_page(request, status, title, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
    return error_page(request, 422, "Some fields are missing or not valid",
                      f"Check: {', '.join(fields)}.")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    _, title = HTTP_CODES.get(exc.status_code, ("http_error", "The request failed"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    response = error_page(request, exc.status_code, title, detail)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unhandled error", exc_info=exc, extra={"route": route})
    return error_page(request, 500, "Something went wrong on our side",
                      "The error was logged. Nothing was changed; you can try again.")


_HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {
    AppError: _app_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}


# --- the session cookie ---------------------------------------------------------------------


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    # No Max-Age: a session cookie goes when the browser closes (shared enrollment desks); the
    # token behind it also ends after the idle timeout and its own lifetime.
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=secure, httponly=True,
                        samesite="strict")


def delete_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True,
                           samesite="strict")


def safe_next(url: str | None) -> str | None:
    """A local path to return to after sign-in, never another site."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if url in ("/signin", "/signout") or len(url) > 200:
        return None
    return url
