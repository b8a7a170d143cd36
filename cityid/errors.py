"""The base error of the program. Domain packages raise subclasses; api/errors.py maps their kind
to an HTTP status in one place, so the domain never speaks HTTP."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class ErrorKind(Enum):
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    GONE = "gone"
    UNAVAILABLE = "unavailable"


class AppError(Exception):
    """An error with a stable machine code and a plain message safe to show to the caller.

    The message must never carry a personal value: it is returned to clients and may be logged.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    code: ClassVar[str] = "invalid_request"
    title: ClassVar[str] = "The request is not valid"

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        self.detail = detail or self.title
        self.retry_after = retry_after
        super().__init__(self.detail)


class NotFound(AppError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    kind = ErrorKind.CONFLICT
    code = "conflict"
    title = "The request conflicts with the current state"


class Unauthenticated(AppError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "unauthenticated"
    title = "Sign-in is required"


class Forbidden(AppError):
    kind = ErrorKind.FORBIDDEN
    code = "forbidden"
    title = "Your role does not allow this"


class Throttled(AppError):
    kind = ErrorKind.THROTTLED
    code = "too_many_requests"
    title = "Too many attempts; try again later"


class Unavailable(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "unavailable"
    title = "The service is not ready"


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"
    title = "The database cannot be reached just now; try again shortly"
