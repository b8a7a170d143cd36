from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, NotFound


class FeeNotFound(NotFound):
    code = "fee_not_found"
    title = "No fee was computed for this card (it was issued before fees were kept)"


class FeeAlreadyRecorded(Conflict):
    code = "fee_already_recorded"
    title = "This card's fee was already recorded as paid or waived"


class NoFeeDue(Conflict):
    code = "no_fee_due"
    title = "The schedule asks no fee for this card: there is nothing to record"


class WaiverReasonRequired(AppError):
    kind = ErrorKind.INVALID
    code = "waiver_reason_required"
    title = "A waiver needs a reason code from the list"


class UnknownWaiverReason(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_waiver_reason"
    title = "That waiver reason is not on the list"


class WaiverReasonOnPayment(AppError):
    kind = ErrorKind.INVALID
    code = "waiver_reason_on_payment"
    title = "A paid fee takes no waiver reason"


class FeeAmountMismatch(AppError):
    kind = ErrorKind.INVALID
    code = "fee_amount_mismatch"
    title = "The amount paid must be the fee due, in full"
