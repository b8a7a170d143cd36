from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, Forbidden, NotFound


class CardNotFound(NotFound):
    code = "card_not_found"
    title = "No such card"


class CardNotPrintable(Conflict):
    code = "card_not_printable"
    title = "A revoked, suspended or expired card is never printed"


class IllegalCardTransition(Conflict):
    code = "illegal_card_transition"
    title = "The card cannot take that step from its current status"


class UnknownCardReason(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_reason"
    title = "That reason code is not on the list for this action"


class ReasonNeedsRole(Forbidden):
    code = "reason_needs_role"
    title = "Your role cannot take this action for that reason"


class RenewalWindowClosed(Conflict):
    code = "renewal_window_closed"
    title = "Renewal opens 60 days before expiry and closes 6 months after it"


class NotLatestCard(Conflict):
    code = "not_latest_card"
    title = "A newer card has been issued; act on that one"


class NoSigningKey(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "no_signing_key"
    title = "No card signing key is configured; run `cityid keys rotate-signing`"


class NoVerifierKey(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "no_verifier_key"
    title = "No QR verifier key is configured; run `cityid keys rotate-verifier`"
