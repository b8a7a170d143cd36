from __future__ import annotations

from cityid.errors import (
    AppError,
    Conflict,
    ErrorKind,
    Forbidden,
    NotFound,
    Throttled,
    Unauthenticated,
)


class PartnerNotFound(NotFound):
    code = "partner_not_found"
    title = "No such partner"


class PartnerNameTaken(Conflict):
    code = "partner_name_taken"
    title = "A partner with that name exists"


class PolicyTooWide(AppError):
    kind = ErrorKind.INVALID
    code = "policy_too_wide"
    title = "A partner's policy can only narrow its type's profile"


class KeyNotFound(NotFound):
    code = "key_not_found"
    title = "No such API key"


class UnknownKey(Unauthenticated):
    code = "invalid_key"
    title = "The API key is not valid"


class KeyExpired(Unauthenticated):
    code = "key_expired"
    title = "This API key has expired; ask the program for a new one"


class KeyRevoked(Unauthenticated):
    code = "key_revoked"
    title = "This API key was revoked"


class PartnerInactive(Forbidden):
    code = "partner_inactive"
    title = "This partner is not active in the program"


class OperationNotAllowed(Forbidden):
    code = "operation_not_allowed"
    title = "This partner's policy does not allow that operation"


class PurposeRequired(AppError):
    kind = ErrorKind.INVALID
    code = "purpose_required"
    title = "This partner must give a verification purpose code with every check"


class UnknownPurpose(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_purpose"
    title = "That is not one of this partner's verification purpose codes"


class IncidentReferenceNotTaken(AppError):
    kind = ErrorKind.INVALID
    code = "incident_reference_not_taken"
    title = "Only police give an incident reference with a check"


class PartnerThrottled(Throttled):
    code = "rate_limited"
    title = "Too many requests from this key or address; slow down"
