from __future__ import annotations

from cityid.errors import AppError, Throttled, Unauthenticated


class HolderCodesThrottled(Throttled):
    code = "rate_limited"
    title = "Too many codes asked for; try again later"


class CodeNotAccepted(AppError):
    """The same answer for a wrong code, an expired or used one, one asked for another card,
    and a card that has none."""

    code = "code_not_accepted"
    title = ("This code is not valid. A code works once, for a few minutes, and only for the "
             "card it was asked for; ask for a new one.")


class HolderSessionRequired(Unauthenticated):
    code = "holder_session_required"
    title = ("Sign in with a one-time code sent to the phone or e-mail on file. What is printed "
             "on the card cannot prove who is asking.")


class NoContactOfThatKind(AppError):
    code = "no_such_contact"
    title = "There is no contact of that kind on file"


class ContactInvalid(AppError):
    code = "contact_invalid"
    title = "Enter an e-mail address like name@example.org, or a phone number of 7 to 20 digits"
