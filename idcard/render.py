"""Card images: the front and back of a CR80 card at 300 dpi, and print-ready PDFs.

Names come in every script a city's residents write, so each character is drawn with the first
font whose character map covers it, and a character no installed font covers raises
``MissingGlyph`` instead of printing an empty box. Right-to-left text is shaped by Pillow's raqm
layout; without raqm, RTL text raises rather than print disconnected letters.

Text never gets clipped or silently cut: a field shrinks, then wraps, and if it still does not fit
the render raises ``TextDoesNotFit``. Fonts and text are set in ``idcard.typesetting``, the QR
in ``idcard.qr_image``; the render errors are in ``idcard.errors``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from fpdf import FPDF
from PIL import Image, ImageOps

from idcard.errors import PhotoUnreadable, RenderError, TextDoesNotFit
from idcard.qr_image import qr_image
from idcard.typesetting import Canvas, FontBook, default_fonts

DPI = 300
CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 54.0
CARD_WIDTH_PX = round(CARD_WIDTH_MM / 25.4 * DPI)  # 1011
CARD_HEIGHT_PX = round(CARD_HEIGHT_MM / 25.4 * DPI)  # 638
MAX_PHOTO_PIXELS = 25_000_000

MUTED = (88, 96, 110)
BAND = (31, 58, 95)
PAPER = (255, 255, 255)
PHOTO_BACKGROUND = (226, 230, 236)

DEFAULT_LABELS: Mapping[str, str] = MappingProxyType({
    "title": "Identity card",
    "name": "Name",
    "date_of_birth": "Date of birth",
    "expires": "Expires",
    "card_number": "Card number",
    "address": "Address",
    "care_of": "Care-of address",
    "scan": "Scan to verify. The code is signed by the issuer.",
})


# --- the front ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardFace:
    full_name: str
    date_of_birth: date
    card_number: str
    expires_on: date
    issuer_name: str
    designations: tuple[str, ...] = ()  # already worded, e.g. "Veteran", "Organ donor"
    address: str | None = None
    care_of_address: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: DEFAULT_LABELS)

    def __post_init__(self) -> None:
        if self.address and self.care_of_address:
            raise RenderError("a card shows the address, the care-of address, or neither")


def group_card_number(number: str) -> str:
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


def _photo(photo: bytes, box: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(io.BytesIO(photo)) as opened:
            if opened.width * opened.height > MAX_PHOTO_PIXELS:
                raise PhotoUnreadable("the photo is too large")
            upright = ImageOps.exif_transpose(opened).convert("RGB")
    except RenderError:
        raise
    except Exception:  # Pillow raises many kinds for a damaged file
        raise PhotoUnreadable() from None
    return ImageOps.fit(upright, box, method=Image.Resampling.LANCZOS)


def render_front(data: CardFace, photo: bytes | None, *, fonts: FontBook | None = None
                 ) -> Image.Image:
    book = fonts or default_fonts()
    labels = {**DEFAULT_LABELS, **data.labels}
    image = Image.new("RGB", (CARD_WIDTH_PX, CARD_HEIGHT_PX), PAPER)
    canvas = Canvas(image, book)
    margin = 36

    canvas.draw.rectangle((0, 0, CARD_WIDTH_PX, 92), fill=BAND)
    canvas.text(margin, 62, data.issuer_name, size=40, min_size=28, bold=True, fill=PAPER,
                width=600)
    canvas.text(660, 60, labels["title"], size=26, min_size=20, fill=PAPER,
                width=CARD_WIDTH_PX - 660 - margin)

    photo_box = (margin, 124, margin + 252, 124 + 336)  # 3:4, about 21 x 28 mm
    canvas.draw.rectangle(photo_box, fill=PHOTO_BACKGROUND)
    if photo is not None:
        size = (photo_box[2] - photo_box[0], photo_box[3] - photo_box[1])
        image.paste(_photo(photo, size), photo_box[:2])

    left = photo_box[2] + 36
    width = CARD_WIDTH_PX - left - margin
    column = width // 2

    y = canvas.text(left, 140, labels["name"], size=22, fill=MUTED, width=width)
    y = canvas.text(left, y + 40, data.full_name, size=44, min_size=28, bold=True, width=width,
                    max_lines=2)
    row = y + 34
    canvas.text(left, row, labels["date_of_birth"], size=22, fill=MUTED, width=column - 12)
    canvas.text(left + column, row, labels["expires"], size=22, fill=MUTED, width=column)
    value_row = row + 38
    canvas.text(left, value_row, data.date_of_birth.isoformat(), size=32, width=column - 12)
    y = canvas.text(left + column, value_row, data.expires_on.isoformat(), size=32, width=column)
    y = canvas.text(left, y + 34, labels["card_number"], size=22, fill=MUTED, width=width)
    y = canvas.text(left, y + 40, group_card_number(data.card_number), size=34, bold=True,
                    width=width)
    if data.designations:
        y = canvas.text(left, y + 40, " · ".join(data.designations), size=26, min_size=20,
                        width=width, max_lines=2)

    shown_address = data.address or data.care_of_address
    if shown_address:
        label = labels["address"] if data.address else labels["care_of"]
        below = max(y, photo_box[3]) + 30
        below = canvas.text(margin, below, label, size=22, fill=MUTED,
                            width=CARD_WIDTH_PX - 2 * margin)
        y = canvas.text(margin, below + 34, shown_address.replace("\n", ", "), size=26,
                        min_size=20, width=CARD_WIDTH_PX - 2 * margin, max_lines=2)
    if y > CARD_HEIGHT_PX - 12:
        raise TextDoesNotFit("the card front overflows")
    return image


# --- the back -----------------------------------------------------------------------------------


def render_back(qr_text: str, *, issuer_name: str | None = None,
                labels: Mapping[str, str] | None = None, fonts: FontBook | None = None
                ) -> Image.Image:
    """The back: the signed QR as large as the card allows, plus a short note."""
    words = {**DEFAULT_LABELS, **(labels or {})}
    image = Image.new("L", (CARD_WIDTH_PX, CARD_HEIGHT_PX), 255)
    margin = 20
    code = qr_image(qr_text, CARD_HEIGHT_PX - 2 * margin)
    top = (CARD_HEIGHT_PX - code.height) // 2
    image.paste(code, (margin, top))
    left = margin + code.width + 24
    width = CARD_WIDTH_PX - left - 36
    canvas = Canvas(image, fonts or default_fonts())
    y = top + 60
    if issuer_name:
        y = canvas.text(left, y, issuer_name, size=30, min_size=22, bold=True, fill=0,
                        width=width, max_lines=3) + 44
    if words["scan"]:
        canvas.text(left, y, words["scan"], size=22, min_size=18, fill=60, width=width,
                    max_lines=6)
    return image


# --- output -------------------------------------------------------------------------------------


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), optimize=False)
    return out.getvalue()


def _page_bytes(image: Image.Image) -> bytes:
    if image.size != (CARD_WIDTH_PX, CARD_HEIGHT_PX):
        raise RenderError("a PDF page must be a card side rendered at 300 dpi")
    if image.mode in ("1", "L"):
        return png_bytes(image)  # lossless, so QR module edges stay sharp
    out = io.BytesIO()
    # JPEG keeps a 1,000-card batch small; quality 95 without chroma subsampling keeps text clean
    image.convert("RGB").save(out, format="JPEG", quality=95, subsampling=0, dpi=(DPI, DPI))
    return out.getvalue()


def render_pdf(cards: Iterable[tuple[Image.Image, Image.Image]]) -> bytes:
    """A print-ready PDF: one CR80-sized page per side, front then back for each card.

    Pages are encoded as they arrive, so a batch holds compressed pages, not raw bitmaps.
    """
    pdf = FPDF(orientation="L", unit="mm", format=(CARD_HEIGHT_MM, CARD_WIDTH_MM))
    pdf.set_margin(0)
    pdf.set_auto_page_break(auto=False)
    pdf.set_creator("cityid")
    pages = 0
    for front, back in cards:
        for side in (front, back):
            pdf.add_page()
            pdf.image(io.BytesIO(_page_bytes(side)), x=0, y=0, w=CARD_WIDTH_MM, h=CARD_HEIGHT_MM)
            pages += 1
    if not pages:
        raise RenderError("there are no cards to print")
    return bytes(pdf.output())
