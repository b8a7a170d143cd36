"""The card's QR code as an image: alphanumeric mode (Base45 is that alphabet), error correction
M or better, a quiet zone of four modules, and modules never under 0.5 mm at 300 dpi."""

from __future__ import annotations

import qrcode
from PIL import Image
from qrcode.util import MODE_ALPHA_NUM, QRData

from idcard.errors import QrDoesNotFit

MIN_MODULE_MM = 0.5
MIN_MODULE_PX = 6  # 0.5 mm is 5.9 px at 300 dpi; round up so a module never prints smaller
QR_QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


def qr_matrix(qr_text: str, *, error_correction: int = qrcode.constants.ERROR_CORRECT_M
              ) -> list[list[bool]]:
    """The QR modules, quiet zone included, in alphanumeric mode (Base45 is that alphabet)."""
    if error_correction == qrcode.constants.ERROR_CORRECT_L:
        raise QrDoesNotFit("error correction must be M or better")
    try:
        data = QRData(qr_text.encode("ascii"), mode=MODE_ALPHA_NUM)
    except (UnicodeEncodeError, ValueError, TypeError, AttributeError):
        raise QrDoesNotFit("the QR text is not Base45") from None
    code = qrcode.QRCode(error_correction=error_correction, box_size=1, border=QR_QUIET_ZONE)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        raise QrDoesNotFit() from None  # more than a version 40 symbol holds
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def qr_image(qr_text: str, side_px: int, *,
             error_correction: int = qrcode.constants.ERROR_CORRECT_M) -> Image.Image:
    """The QR as a greyscale square no wider than ``side_px``, with whole-pixel modules."""
    matrix = qr_matrix(qr_text, error_correction=error_correction)
    count = len(matrix)
    module = side_px // count
    if module < MIN_MODULE_PX:
        raise QrDoesNotFit()
    small = Image.new("L", (count, count), 255)
    small.putdata([0 if dark else 255 for row in matrix for dark in row])
    return small.resize((count * module, count * module), Image.Resampling.NEAREST)
