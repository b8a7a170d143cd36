from __future__ import annotations

from cityid.errors import (
    AppError,
    Conflict,
    ErrorKind,
    Forbidden,
    NotFound,
    Throttled,
)


class VerifyThrottled(Throttled):
    code = "card_number_throttled"
    title = ("Too many checks of this card number by number and date of birth; scan its QR "
             "code or try again later")


class HolderCodeRequired(Forbidden):
    code = "holder_code_required"
    title = ("Card history is available to the cardholder only, with a one-time code sent to "
             "the phone or email on file. The card number, date of birth and issue number are "
             "printed on the card or held in its QR code, so they cannot prove who is asking.")


class HolderHistoryThrottled(Throttled):
    code = "rate_limited"
    title = "Too many requests for card history; try again later"


class CardNotRecognised(NotFound):
    """The same answer for an unknown card number and a wrong date of birth."""

    code = "card_not_found"
    title = "No valid card matches that card number and date of birth"

    def __init__(self, detail: str | None = None, *, subject: str | None = None) -> None:
        super().__init__(detail)
        self.subject = subject  # for the audit only: the pseudonym when the number was known


class CardRefused(Conflict):
    """The card did not verify: the code is the verifier's reason."""

    code = "card_invalid"
    title = "The card is not valid"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The card is not valid: {reason.replace('_', ' ')}.")
        self.reason = reason


class BenefitNotFound(NotFound):
    code = "benefit_not_found"
    title = "No such benefit for this partner"


class BenefitNotActive(Conflict):
    code = "benefit_not_active"
    title = "This benefit is not offered today"


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"
    title = "This benefit was already redeemed"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "This Idempotency-Key was used for a different request"


class IdempotencyKeyRequired(AppError):
    kind = ErrorKind.INVALID
    code = "idempotency_key_required"
    title = "Send an Idempotency-Key header (8 to 128 letters, digits, dashes or underscores)"


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    title = "No such redemption for this partner"


class VoidWindowClosed(Conflict):
    code = "void_window_closed"
    title = "The time to void this redemption has passed"


class AlreadyVoided(Conflict):
    code = "already_voided"
    title = "This redemption was already voided"


class BenefitWindowInvalid(AppError):
    kind = ErrorKind.INVALID
    code = "benefit_window_invalid"
    title = "A benefit's active window must end on or after it starts"


class BenefitLimitUnsupported(AppError):
    """A limit the catalogue would not honour as sent: refused rather than quietly rewritten."""

    kind = ErrorKind.INVALID
    code = "benefit_limit_unsupported"
    title = "The catalogue cannot honour that limit for this kind of benefit"


class NotAnOfflineVerifier(Forbidden):
    code = "not_an_offline_verifier"
    title = "This partner's type is not entitled to the QR verifier key"
