"""RFC 9457 problem details, with a stable ``code``, for every error: the one place where domain
error kinds become HTTP statuses. No stack trace or input value ever reaches a client."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from appointments.errors import SlotTaken
from cityid.db import database_unavailable, violated_constraint
from cityid.errors import AppError, Conflict, DatabaseUnavailable, ErrorKind
from partners.errors import PartnerNameTaken
from sites.errors import SiteNameTaken
from staff.errors import UsernameTaken

log = logging.getLogger("cityid.api")
PROBLEM_BASE = "https://cityid.example/problems/"

STATUS_FOR_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.THROTTLED: 429,
    ErrorKind.GONE: 410,
    ErrorKind.UNAVAILABLE: 503,
}

HTTP_CODES = {
    400: ("bad_request", "The request could not be read"),
    401: ("unauthenticated", "Sign-in is required"),
    403: ("forbidden", "Your role does not allow this"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "This method is not allowed here"),
    406: ("not_acceptable", "No acceptable representation"),
    413: ("payload_too_large", "The request body is too large"),
    415: ("unsupported_media_type", "This content type is not accepted here"),
    429: ("too_many_requests", "Too many requests; try again later"),
}


# How long a client should wait after the database went away: the pool replaces a dropped
# connection at its next checkout, and a restarted PostgreSQL takes a few seconds.
DATABASE_RETRY_AFTER = 2


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "Something with these values already exists"


# A unique constraint broken by a race (two requests past the same check at once) answers as the
# check itself would have. Constraint names come from cityid.db's naming convention.
UNIQUE_CONFLICTS: dict[str, type[Conflict]] = {
    "uq_staff_accounts_username": UsernameTaken,
    "uq_partners_name": PartnerNameTaken,
    "uq_partners_name_key": PartnerNameTaken,
    "uq_sites_name_key": SiteNameTaken,
    "uq_appointments_slot_id": SlotTaken,
}


def database_error_response(exc: SQLAlchemyError) -> JSONResponse | None:
    """The answer for a database error that is not a bug: 503 when the database can't serve
    now (nothing was committed, so the request can be repeated), 409 for a unique constraint."""
    if database_unavailable(exc):
        log.warning("database.unavailable", extra={"error": type(exc).__name__})
        return app_error_response(DatabaseUnavailable(retry_after=DATABASE_RETRY_AFTER))
    if isinstance(exc, IntegrityError):
        constraint = violated_constraint(exc)
        if constraint is not None and (constraint in UNIQUE_CONFLICTS
                                       or constraint.startswith(("uq_", "pk_"))):
            return app_error_response(UNIQUE_CONFLICTS.get(constraint, AlreadyExists)())
    return None


def problem(status: int, code: str, title: str, detail: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status,
                            "code": code, "detail": detail or title, **extra}
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


def app_error_response(exc: AppError) -> JSONResponse:
    status = STATUS_FOR_KIND[exc.kind]
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(status, exc.code, exc.title, exc.detail, headers=headers or None)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and what: pydantic's "input" and "ctx" can echo personal values.
    return [{"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""),
             "type": err.get("type", "")} for err in exc.errors()]


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = _validation_errors(exc)
    types = {e["type"] for e in errors}
    if "json_invalid" in types:
        return problem(400, "malformed_json", "The request body is not valid JSON",
                       "The body could not be parsed as JSON; check quotes, commas and brackets.")
    if "extra_forbidden" in types:
        names = ", ".join(e["loc"][-1] for e in errors if e["type"] == "extra_forbidden")
        return problem(422, "unknown_field", "The request has fields this endpoint does not take",
                       f"Unknown field(s): {names}.", errors=errors)
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(422, "validation_failed", "Some fields are missing or not valid", where,
                   errors=errors)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = HTTP_CODES.get(exc.status_code, ("http_error", "The request failed"))
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return problem(exc.status_code, code, title, headers=headers or None)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return database_error_response(exc) or _internal_error(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request, exc)


def route_methods(paths: dict[str, set[str]]) -> list[tuple[re.Pattern[str], str]]:
    """For 405 answers: each path template's pattern, with every method its routes take."""
    table = []
    for path, methods in paths.items():
        if "GET" in methods:
            methods = methods | {"HEAD"}
        table.append((compile_path(path)[0], ", ".join(sorted(methods))))
    return table


def _allowed(request: Request) -> str:
    # Starlette's Allow names only the first route matching the path, while GET and POST on
    # one path are often two routes: RFC 9110 wants all of them.
    table: list[tuple[re.Pattern[str], str]] = getattr(request.app.state, "route_methods", [])
    methods = {m.strip() for pattern, listed in table if pattern.match(request.url.path)
               for m in listed.split(",")}
    return ", ".join(sorted(methods))


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unhandled error", exc_info=exc, extra={"route": route})
    return problem(500, "internal_error", "Something went wrong on our side",
                   "The error was logged. Nothing was changed; you can try again.")
