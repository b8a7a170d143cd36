"""Enrolling an authenticator app from the browser, before the first sign-in that needs it.

The pages take the username and password each time rather than keep a half-signed-in state:
the account can't sign in yet, and nothing but a full sign-in makes a session. The secret and
its QR code are shown once, on the answer to the enrolment form, never on a page that can be
fetched again."""

from __future__ import annotations

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from api.access import PUBLIC, Rule
from api.deps import RuntimeDep, SessionDep, client_address
from api.runtime import Runtime
from api.web import pages
from api.web.csrf import PublicForm
from api.web.forms import text
from cityid.errors import AppError
from staff import credentials
from staff import second_factor as second_factors
from staff.errors import InvalidCredentials
from staff.models import StaffAccount

router = APIRouter(route_class=pages.WebRoute, tags=["web: staff"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/signin/second-factor"): PUBLIC,
    ("POST", "/signin/second-factor"): PUBLIC,
    ("POST", "/signin/second-factor/confirm"): PUBLIC,
}
TEMPLATE = "second_factor.html"


def _page(request: Request, *, step: str, message: str | None = None, status_code: int = 200,
          username: str = "", **extra: object) -> Response:
    return pages.render(request, TEMPLATE, {"step": step, "message": message,
                                            "username": username, **extra},
                        status_code=status_code)


def _show_error(request: Request, exc: AppError) -> Response:
    form = getattr(request.state, "form", None) or {}
    return _page(request, step="start", message=exc.detail, status_code=pages.status_for(exc),
                 username=text(form, "username") or "")


def _account(request: Request, form: PublicForm, session: SessionDep,
             runtime: Runtime) -> StaffAccount:
    password = form.get("password")
    return credentials.authenticate(
        session, username=(text(form, "username") or "")[:64],
        password=password[:1024] if isinstance(password, str) else "",
        client=client_address(request), limiter=runtime.limiter,
        policy=runtime.sign_in_policy, clock=runtime.clock)


@router.get("/signin/second-factor")
def enrolment_form(request: Request) -> Response:
    return _page(request, step="start")


@router.post("/signin/second-factor")
@pages.on_error(_show_error)
def start_enrolment(request: Request, form: PublicForm, session: SessionDep,
                    runtime: RuntimeDep) -> Response:
    try:
        account = _account(request, form, session, runtime)
    except InvalidCredentials as exc:
        # Answered, not raised, so the request's transaction commits the failure's audit entry.
        return _show_error(request, exc)
    enrolment = second_factors.start_enrolment(session, vault=runtime.vault, account=account,
                                               clock=runtime.clock)
    # The SVG is made here by the qrcode package from the otpauth URI: paths, no text or script.
    return _page(request, step="scan", username=account.username,
                 qr_svg=Markup(enrolment.qr_svg), secret=enrolment.secret)  # noqa: S704


@router.post("/signin/second-factor/confirm")
@pages.on_error(_show_error)
def confirm_enrolment(request: Request, form: PublicForm, session: SessionDep,
                      runtime: RuntimeDep) -> Response:
    try:
        account = _account(request, form, session, runtime)
    except InvalidCredentials as exc:
        return _show_error(request, exc)
    codes = second_factors.confirm_enrolment(session, vault=runtime.vault, account=account,
                                             code=(text(form, "code") or "")[:8],
                                             clock=runtime.clock)
    return _page(request, step="done", username=account.username, recovery_codes=codes)
