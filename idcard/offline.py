"""The offline verifier's front door: what a verifier holds (a scanned QR or a photo of the card,
a cached key set, a cached status list) in; exactly one reason code out. It fails closed: a status
list that does not verify counts as no list at all, which is never "ok"."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from idcard.statuslist import StatusList, StatusListError, parse_status_document
from idcard.verifier import Reason, Verdict, verify_credential

MAX_IMAGE_BYTES = 20 * 1024 * 1024


def read_qr_from_image(image: bytes) -> str | None:
    """The text of the first QR code in a photo or scan of a card, or None."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if len(image) > MAX_IMAGE_BYTES:
        return None
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.load()
            results = zxingcpp.read_barcodes(picture.convert("L"),
                                             formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return next((r.text for r in results if r.valid and r.text), None)


def load_status_list(document: bytes | None, jwks: Mapping[str, Any]) -> StatusList | None:
    if not document:
        return None
    try:
        return parse_status_document(document, jwks)
    except StatusListError:
        return None


def offline_check(*, qr_text: str | None, image: bytes | None, jwks: Mapping[str, Any],
                  status_document: bytes | None, now: datetime,
                  verifier_keys: Mapping[str, bytes] | None = None) -> Verdict:
    """``verifier_keys`` (kid to key, from an exported verifier key file) open sealed QRs."""
    if qr_text is None and image is not None:
        qr_text = read_qr_from_image(image)
    if not qr_text:
        return Verdict(Reason.UNREADABLE)
    return verify_credential(qr_text.strip(), jwks=jwks,
                             status=load_status_list(status_document, jwks), now=now,
                             verifier_keys=verifier_keys)
