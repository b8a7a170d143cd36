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


# The second-factor refusals are InvalidCredentials, so the sign-in routes answer them (rather
# than raise them) and the failure's audit entry commits as a wrong password's does.
class SecondFactorRequired(InvalidCredentials):
    code = "second_factor_required"
    title = "This account signs in with a code from its authenticator app or a recovery code"


class SecondFactorEnrolmentRequired(InvalidCredentials):
    code = "second_factor_enrolment_required"
    title = ("This account must enrol an authenticator app before it can sign in; "
             "start the enrolment with the same username and password")


class InvalidSecondFactor(InvalidCredentials):
    code = "invalid_second_factor"
    title = "The code is wrong, has expired or was already used"


class PasswordChangeRequired(InvalidCredentials):
    code = "password_change_required"
    title = "An admin reset this password; choose a new one before signing in"


class AlreadyEnrolled(Conflict):
    code = "second_factor_already_enrolled"
    title = ("This account already has an authenticator app; an admin must reset it before "
             "another can be enrolled")


class NoEnrolmentStarted(Conflict):
    code = "second_factor_enrolment_not_started"
    title = "Start the enrolment first; its code is checked against the secret it showed"


class SecondFactorNotEnrolled(NotFound):
    code = "second_factor_not_enrolled"
    title = "This account has no second factor to reset"
