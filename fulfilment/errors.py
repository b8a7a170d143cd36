from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, NotFound


class IllegalFulfilmentStep(Conflict):
    code = "illegal_fulfilment_step"
    title = "The card cannot take that fulfilment step from where it is"


class CardNotActive(Conflict):
    code = "card_not_active"
    title = "A revoked, suspended or expired card is never printed or handed over"


class PickupOnly(Conflict):
    code = "pickup_only"
    title = "This card is collected in person (care-of or no address); it is never mailed"


class UnknownIdentityCheck(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_identity_check"
    title = "That identity check is not on the list"


class BatchNotFound(NotFound):
    code = "print_batch_not_found"
    title = "No such print batch"


class BatchAlreadyPrinted(Conflict):
    code = "print_batch_already_printed"
    title = "This print batch was already marked printed"


class NothingToPrint(Conflict):
    code = "nothing_to_print"
    title = "No card is waiting to be printed at this site"
