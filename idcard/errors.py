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


# --- card images (idcard.render) ------------------------------------------------------------------


class RenderError(AppError):
    kind = ErrorKind.INVALID
    code = "card_render_failed"
    title = "The card image could not be made"


class MissingGlyph(RenderError):
    code = "card_missing_glyph"
    title = "A character on the card has no glyph in any installed font"

    def __init__(self, codepoint: int) -> None:
        # The code point stays off the message: messages are logged and a name is personal data.
        super().__init__()
        self.codepoint = codepoint


class TextDoesNotFit(RenderError):
    code = "card_text_too_long"
    title = "A field is too long to print on the card"


class QrDoesNotFit(RenderError):
    code = "card_qr_too_dense"
    title = "The credential is too long for a QR code with modules of at least 0.5 mm"


class RendererUnavailable(RenderError):
    kind = ErrorKind.UNAVAILABLE
    code = "card_renderer_unavailable"
    title = "Right-to-left text needs Pillow built with libraqm"


class PhotoUnreadable(RenderError):
    code = "card_photo_unreadable"
    title = "The photo could not be read"
