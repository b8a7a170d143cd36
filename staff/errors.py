from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, NotFound, Throttled, Unauthenticated


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "The username or password is wrong"


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    title = "The bearer token is not valid, has expired or was revoked"


class SignInThrottled(Throttled):
    code = "sign_in_throttled"
    title = "Too many failed sign-ins; wait before trying again"


class WeakPassword(AppError):
    kind = ErrorKind.INVALID
    code = "weak_password"
    title = ("The password must be 12 to 1024 characters, use at least 4 different characters "
             "and not be a common password")


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "That username is already in use"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "No such staff account"


class OwnAccount(Conflict):
    code = "own_account"
    title = "You cannot deactivate your own account; another admin must"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "This is the last active admin; make another admin first"
