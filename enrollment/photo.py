"""The applicant's card photo: checked, cleaned and fitted to the card's photo box.

Whatever the camera or upload carried besides the pixels (EXIF with GPS position, device serial
numbers, capture time, thumbnails, ICC and XMP blocks) is dropped by re-encoding only the pixels.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from cityid.errors import AppError

# The card's photo box: 1 x 1 1/3 inches at 300 dpi, portrait 3:4.
PHOTO_BOX = (300, 400)
PHOTO_DPI = 300
JPEG_QUALITY = 90
# A 48-megapixel phone photo fits; anything far larger is an attack or a mistake, and decoding
# it would cost hundreds of megabytes.
MAX_PIXELS = 50_000_000
# Below this the face on the card would be an enlarged blur.
MIN_SIZE = (PHOTO_BOX[0] // 2, PHOTO_BOX[1] // 2)

_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}
# Pillow reports JPEGs with a multi-picture extension, as many phones write them, as MPO.
_FORMATS = {"JPEG": {"JPEG", "MPO"}, "PNG": {"PNG"}}


class PhotoUnsupportedType(AppError):
    code = "photo_unsupported_type"
    title = "The photo must be a JPEG or PNG image"


class PhotoTooLarge(AppError):
    code = "photo_too_large"
    title = "The photo file is too large"


class PhotoTooManyPixels(AppError):
    code = "photo_too_many_pixels"
    title = "The photo has too many pixels"


class PhotoTooSmall(AppError):
    code = "photo_too_small"
    title = "The photo is too small for a card"


def sniff_type(data: bytes) -> str | None:
    """``"JPEG"`` or ``"PNG"`` from the leading bytes, whatever the upload claimed to be."""
    for signature, kind in _SIGNATURES.items():
        if data.startswith(signature):
            return kind
    return None


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas would turn black in JPEG; a white background is what a card shows.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in {"I", "I;16", "I;16B", "I;16L"}:
        # 16-bit greyscale PNGs: converting straight to RGB would clip everything to white.
        return image.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def process_photo(data: bytes, *, max_bytes: int, max_pixels: int = MAX_PIXELS) -> bytes:
    """A clean JPEG of exactly ``PHOTO_BOX`` pixels, centre-cropped from the upload."""
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"The photo must be at most {max_bytes // 1024} KiB")
    kind = sniff_type(data)
    if kind is None:
        raise PhotoUnsupportedType()

    # Pillow only warns between its process-wide limit and twice that, and only raises above it.
    # Our own limit, never above Pillow's, is checked on the header before any pixel is decoded,
    # so every image Pillow would merely warn about is refused here too, without touching the
    # process-wide warning filters (which are not thread-safe to change per call).
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
        if image.format not in _FORMATS[kind]:
            raise PhotoUnsupportedType()
        width, height = image.size
        if width * height > limit:
            raise PhotoTooManyPixels(
                f"The photo must have at most {limit // 1_000_000} megapixels")
        if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
            raise PhotoTooSmall(
                f"The photo must be at least {MIN_SIZE[0]} x {MIN_SIZE[1]} pixels")
        if kind == "JPEG":
            # Decode at a reduced scale when the JPEG is much larger than the box; the square
            # request keeps enough pixels whichever way the photo is rotated.
            side = 2 * max(PHOTO_BOX)
            image.draft("RGB", (side, side))
        image.load()
        upright = ImageOps.exif_transpose(image)
    # The warning arrives as an exception when a deployment runs with warnings as errors.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoTooManyPixels() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # A recognised signature followed by something that is not that image.
        raise PhotoUnsupportedType("The photo file is damaged or is not a real image") from exc

    fitted = ImageOps.fit(_flatten(upright), PHOTO_BOX, method=Image.Resampling.LANCZOS,
                          centering=(0.5, 0.5))
    # Pillow's JPEG encoder copies some metadata (the comment, for one) from the image's info,
    # which crops and conversions carry along; a fresh image carries none of the upload's.
    clean = Image.new("RGB", PHOTO_BOX)
    clean.paste(fitted)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True,
               dpi=(PHOTO_DPI, PHOTO_DPI))
    return out.getvalue()
