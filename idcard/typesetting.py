"""Text on a card: each character drawn with the first installed font whose character map covers
it, right-to-left text shaped by Pillow's raqm layout, and a field that shrinks, then wraps, and
raises ``TextDoesNotFit`` rather than be clipped. Used by ``idcard.render``."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont, features

from idcard.errors import MissingGlyph, RendererUnavailable, TextDoesNotFit

INK = (20, 24, 31)

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
)


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


class Canvas:
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
