from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, Forbidden, NotFound


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    title = "No application with that reference"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "The application cannot take that step from its current status"


class ApplicationNotEditable(Conflict):
    code = "application_not_editable"
    title = "A decided application can no longer be changed"


class RulebookNotSatisfied(Conflict):
    code = "rulebook_not_satisfied"
    title = "The documents do not yet satisfy the rulebook"


class PhotoMissing(Conflict):
    code = "photo_missing"
    title = "The application needs a photo before it can be approved"


class DuplicateUnresolved(Conflict):
    code = "duplicate_unresolved"
    title = "A possible duplicate must be resolved by a supervisor first"


class DuplicateConfirmed(Conflict):
    code = "duplicate_confirmed"
    title = "A supervisor found this application duplicates another; it cannot be approved"


class SecondPairOfEyesRequired(Forbidden):
    code = "second_pair_of_eyes_required"
    title = "Another clerk or a supervisor approves an application you took in"


class OverrideNeedsSupervisor(Forbidden):
    code = "override_needs_supervisor"
    title = "Only a supervisor can approve an application the rulebook does not satisfy"


class UnknownReason(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_reason"
    title = "That reason code is not on the list for this decision"


class CaretakerRequired(AppError):
    kind = ErrorKind.INVALID
    code = "caretaker_required"
    title = "Applicants aged 10 to 13 apply with a caretaker"


class CaretakerNotAllowed(AppError):
    kind = ErrorKind.INVALID
    code = "caretaker_not_allowed"
    title = "Only applicants aged 10 to 13 apply with a caretaker"


class ImpossibleDateOfBirth(AppError):
    kind = ErrorKind.INVALID
    code = "impossible_date_of_birth"
    title = "The date of birth is in the future or too far in the past"


class DuplicateFlagNotFound(NotFound):
    code = "duplicate_not_found"
    title = "No such duplicate check"


class StatusCheckNotFound(NotFound):
    """The one answer for an unknown reference, a malformed one and a wrong date of birth."""

    code = "status_not_found"
    title = "We could not find an application with that reference and date of birth"
