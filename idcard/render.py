"""Card images: the front and back of a CR80 card at 300 dpi, and print-ready PDFs.

Names come in every script a city's residents write, so each character is drawn with the first
font whose character map covers it, and a character no installed font covers raises
``MissingGlyph`` instead of printing an empty box. Right-to-left text is shaped by Pillow's raqm
layout; without raqm, RTL text raises rather than print disconnected letters.

Text never gets clipped or silently cut: a field shrinks, then wraps, and if it still does not fit
the render raises ``TextDoesNotFit``.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType

import qrcode
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont, ImageOps, features
from qrcode.util import MODE_ALPHA_NUM, QRData

from cityid.errors import AppError, ErrorKind

DPI = 300
CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 54.0
CARD_WIDTH_PX = round(CARD_WIDTH_MM / 25.4 * DPI)  # 1011
CARD_HEIGHT_PX = round(CARD_HEIGHT_MM / 25.4 * DPI)  # 638
MIN_MODULE_MM = 0.5
MIN_MODULE_PX = 6  # 0.5 mm is 5.9 px at 300 dpi; round up so a module never prints smaller
QR_QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks
MAX_PHOTO_PIXELS = 25_000_000

INK = (20, 24, 31)
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

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
)


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


# --- fonts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FontFace:
    regular: Path
    bold: Path
    index: int = 0  # the face inside a .ttc collection


# Tried in this order; the first face that covers a character draws it. After these, every other
# installed Noto Sans face is tried, so rarer scripts still print.
PREFERRED_FACES: tuple[tuple[str, str, int], ...] = (
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", 0),  # Latin, Greek, Cyrillic
    ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", 0),
    ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", 2),  # face 2 is Simplified Chinese
    ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", 0),
    ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", 0),
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", 0),
)


def _font_files(dirs: Sequence[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                if name.lower().endswith((".ttf", ".otf", ".ttc")):
                    found.setdefault(name, Path(folder) / name)
    return found


class FontBook:
    """Which installed font draws which character, read from each font's character map."""

    def __init__(self, preferred: Sequence[FontFace], fallback: Sequence[FontFace] = ()) -> None:
        if not preferred and not fallback:
            raise RendererUnavailable("no fonts are installed; install fonts-noto-core "
                                      "and fonts-noto-cjk")
        self._faces = (*preferred, *fallback)
        self._cmaps: dict[FontFace, frozenset[int]] = {}
        self._choice: dict[int, FontFace | None] = {}

    @classmethod
    def discover(cls, dirs: Sequence[Path] = FONT_DIRS) -> FontBook:
        files = _font_files(dirs)
        preferred: list[FontFace] = []
        for regular, bold, index in PREFERRED_FACES:
            if regular in files:
                preferred.append(FontFace(files[regular], files.get(bold, files[regular]), index))
        named = {face.regular.name for face in preferred}
        fallback = [
            FontFace(path, files.get(name.replace("-Regular.", "-Bold."), path))
            for name, path in sorted(files.items())
            if name.startswith("NotoSans") and "-Regular." in name and name not in named
            and name.endswith(".ttf")
        ]
        return cls(preferred, fallback)

    def _cmap(self, face: FontFace) -> frozenset[int]:
        if face not in self._cmaps:
            font = TTFont(str(face.regular), fontNumber=face.index, lazy=True)
            try:
                self._cmaps[face] = frozenset(font.getBestCmap() or {})
            finally:
                font.close()
        return self._cmaps[face]

    def covers(self, face: FontFace, char: str) -> bool:
        return ord(char) in self._cmap(face)

    def face_for(self, char: str) -> FontFace:
        codepoint = ord(char)
        if codepoint not in self._choice:
            self._choice[codepoint] = next(
                (face for face in self._faces if codepoint in self._cmap(face)), None
            )
        face = self._choice[codepoint]
        if face is None:
            raise MissingGlyph(codepoint)
        return face

    def runs(self, text: str) -> list[tuple[FontFace, str]]:
        """Split text into runs that one font can draw, keeping spaces and joiners inside the
        run they sit in so a shaper sees whole words."""
        runs: list[tuple[FontFace, list[str]]] = []
        for char in text:
            category = unicodedata.category(char)
            if category == "Cc" or category in ("Zl", "Zp"):
                raise MissingGlyph(ord(char))
            current = runs[-1][0] if runs else None
            invisible = category == "Cf"  # joiners and direction marks need no glyph
            if current is not None and (invisible or self.covers(current, char)):
                runs[-1][1].append(char)
                continue
            if invisible:
                runs.append((self._faces[0], [char]))
                continue
            runs.append((self.face_for(char), [char]))
        return [(face, "".join(chars)) for face, chars in runs]

    @lru_cache(maxsize=256)  # noqa: B019 - a FontBook lives as long as the process
    def font(self, face: FontFace, size: int, bold: bool) -> ImageFont.FreeTypeFont:
        path = face.bold if bold else face.regular
        return ImageFont.truetype(str(path), size, index=face.index,
                                  layout_engine=ImageFont.Layout.RAQM
                                  if features.check("raqm") else ImageFont.Layout.BASIC)


@cache
def default_fonts() -> FontBook:
    return FontBook.discover()


def _is_rtl(text: str) -> bool:
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


@dataclass(frozen=True)
class _Line:
    runs: tuple[tuple[ImageFont.FreeTypeFont, str], ...]
    width: float
    rtl: bool


def _shape_line(book: FontBook, text: str, size: int, bold: bool) -> _Line:
    rtl = _is_rtl(text)
    if rtl and not features.check("raqm"):
        raise RendererUnavailable()
    pieces = tuple((book.font(face, size, bold), chunk) for face, chunk in book.runs(text))
    width = sum(font.getlength(chunk) for font, chunk in pieces)
    # A right-to-left line reads from the right, so its runs are laid out in reverse.
    return _Line(pieces[::-1] if rtl else pieces, width, rtl)


def _wrap(book: FontBook, text: str, size: int, bold: bool, width: int,
          max_lines: int) -> list[_Line] | None:
    whole = _shape_line(book, text, size, bold)
    if whole.width <= width:
        return [whole]
    if max_lines == 1:
        return None
    lines: list[_Line] = []
    words = text.split(" ")
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _shape_line(book, candidate, size, bold).width <= width:
            current = candidate
            continue
        if not current:
            return None  # one word is wider than the field
        lines.append(_shape_line(book, current, size, bold))
        current = word
        if _shape_line(book, current, size, bold).width > width:
            return None
    if current:
        lines.append(_shape_line(book, current, size, bold))
    return lines if len(lines) <= max_lines else None


def _fit(book: FontBook, text: str, *, size: int, min_size: int, width: int, bold: bool,
         max_lines: int) -> tuple[int, list[_Line]]:
    for candidate in range(size, min_size - 1, -2):
        lines = _wrap(book, text, candidate, bold, width, max_lines)
        if lines is not None:
            return candidate, lines
    raise TextDoesNotFit()


class _Canvas:
    def __init__(self, image: Image.Image, book: FontBook) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.book = book

    def text(self, x: int, y: int, text: str, *, size: int, width: int, bold: bool = False,
             fill: int | tuple[int, int, int] = INK, min_size: int | None = None,
             max_lines: int = 1) -> int:
        """Draw ``text`` with its first baseline at ``y`` and return the y below it."""
        text = unicodedata.normalize("NFC", text)
        used, lines = _fit(self.book, text, size=size, min_size=min_size or size, width=width,
                           bold=bold, max_lines=max_lines)
        line_height = round(used * 1.3)
        baseline = y
        for line in lines:
            cursor = float(x + width - line.width) if line.rtl else float(x)
            for font, chunk in line.runs:
                self.draw.text((cursor, baseline), chunk, font=font, fill=fill, anchor="ls")
                cursor += font.getlength(chunk)
            baseline += line_height
        return baseline - line_height + round(used * 0.45)


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
    canvas = _Canvas(image, book)
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
    canvas = _Canvas(image, fonts or default_fonts())
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
