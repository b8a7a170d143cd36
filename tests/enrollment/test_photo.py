"""The card photo: only real JPEG and PNG, bounded in bytes and pixels, re-encoded clean."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from cityid.errors import AppError
from enrollment.photo import PHOTO_BOX, process_photo

LIMIT = 5 * 1024 * 1024
RED = (255, 0, 0)
BLUE = (0, 0, 255)
ORIENTATION = 0x0112
MAKE = 0x010F


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def _halves(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new(mode, size, BLUE if mode == "RGB" else (*BLUE, 255))
    image.paste(RED if mode == "RGB" else (*RED, 255), (0, 0, size[0] // 2, size[1]))
    return image


def _png_header_only_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of the given size whose file is tiny: rows of zeros compress away."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def _code(data: bytes, *, max_bytes: int = LIMIT) -> str:
    with pytest.raises(AppError) as caught:
        process_photo(data, max_bytes=max_bytes)
    return caught.value.code


def _assert_clean_box_jpeg(out: bytes) -> Image.Image:
    assert out.startswith(b"\xff\xd8\xff")
    assert b"Exif" not in out
    assert b"\xff\xe1" not in out  # no APP1 segment (EXIF or XMP)
    image = Image.open(io.BytesIO(out))
    assert image.format == "JPEG"
    assert image.size == PHOTO_BOX
    assert not image.getexif()
    assert "icc_profile" not in image.info
    return image


def test_jpeg_with_exif_is_reencoded_without_it() -> None:
    exif = Image.Exif()
    exif[MAKE] = "SpyPhone 9000"
    exif[0x8825] = {1: "N", 2: (40.0, 42.0, 46.0)}  # GPS position
    data = _encode(_halves((1200, 900)), "JPEG", exif=exif.tobytes())
    assert b"SpyPhone" in data
    out = process_photo(data, max_bytes=LIMIT)
    assert b"SpyPhone" not in out
    _assert_clean_box_jpeg(out)


def test_jpeg_comment_and_icc_profile_are_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(_halves((1200, 900)), "JPEG", comment=b"taken at 12 Example St",
                   icc_profile=profile)
    assert b"Example St" in data
    out = process_photo(data, max_bytes=LIMIT)
    assert b"Example St" not in out
    assert b"ICC_PROFILE" not in out
    _assert_clean_box_jpeg(out)


def test_png_text_chunks_are_dropped() -> None:
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Author", "Jane Resident")
    data = _encode(_halves((600, 800)), "PNG", pnginfo=meta)
    assert b"Jane Resident" in data
    assert b"Jane Resident" not in process_photo(data, max_bytes=LIMIT)


def test_exif_orientation_is_applied_before_cropping() -> None:
    # Orientation 6: the stored landscape pixels display rotated 90 degrees clockwise, so the
    # red left half becomes the top of a portrait photo.
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    data = _encode(_halves((800, 600)), "JPEG", exif=exif.tobytes(), quality=95)
    image = _assert_clean_box_jpeg(process_photo(data, max_bytes=LIMIT)).convert("RGB")
    top = image.getpixel((150, 20))
    bottom = image.getpixel((150, 380))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_png_is_accepted_and_transparency_becomes_white() -> None:
    image = Image.new("RGBA", (600, 800), (0, 0, 0, 0))
    image.paste((*RED, 255), (200, 300, 400, 500))
    out = process_photo(_encode(image, "PNG"), max_bytes=LIMIT)
    card = _assert_clean_box_jpeg(out).convert("RGB")
    corner = card.getpixel((5, 5))
    centre = card.getpixel((150, 200))
    assert isinstance(corner, tuple) and isinstance(centre, tuple)
    assert min(corner) > 240
    assert centre[0] > 200 and centre[1] < 60


def test_landscape_is_centre_cropped_not_squashed() -> None:
    # A 4:3 landscape: the centre 3:4 strip is kept, so both colours meet in the middle.
    card = _assert_clean_box_jpeg(
        process_photo(_encode(_halves((1600, 1200)), "JPEG", quality=95), max_bytes=LIMIT))
    left = card.convert("RGB").getpixel((40, 200))
    right = card.convert("RGB").getpixel((260, 200))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[0] > 200 and right[2] > 200


@pytest.mark.parametrize("data", [
    b"hello, this is not an image",
    b"",
    b"%PDF-1.7\n" + b"0" * 2000,
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
], ids=["text", "empty", "pdf", "svg"])
def test_non_images_are_refused(data: bytes) -> None:
    assert _code(data) == "photo_unsupported_type"


def test_real_images_of_other_types_are_refused() -> None:
    for fmt in ("GIF", "BMP", "WEBP", "TIFF"):
        assert _code(_encode(_halves((600, 800)), fmt)) == "photo_unsupported_type", fmt


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"not really a png" * 100,
    b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 100,
], ids=["fake-png", "fake-jpeg"])
def test_fake_header_is_refused(data: bytes) -> None:
    assert _code(data) == "photo_unsupported_type"


def test_truncated_jpeg_is_refused() -> None:
    data = _encode(_halves((1200, 1600)), "JPEG")
    assert _code(data[: len(data) // 2]) == "photo_unsupported_type"


def test_oversized_file_is_refused() -> None:
    data = _encode(_halves((600, 800)), "PNG")
    assert _code(data, max_bytes=len(data) - 1) == "photo_too_large"
    assert process_photo(data, max_bytes=len(data))


def test_decompression_bomb_png_is_refused() -> None:
    bomb = _png_header_only_bomb(20_000, 20_000)
    assert len(bomb) < 200_000
    assert _code(bomb) == "photo_too_many_pixels"


def test_png_over_our_pixel_limit_but_under_pillows_is_refused() -> None:
    # 64 megapixels: Pillow's default limit would let this through to decoding.
    bomb = _png_header_only_bomb(8_000, 8_000)
    assert (Image.MAX_IMAGE_PIXELS or 0) > 8_000 * 8_000
    assert _code(bomb) == "photo_too_many_pixels"


def test_tiny_image_is_refused() -> None:
    assert _code(_encode(_halves((60, 80)), "PNG")) == "photo_too_small"


def test_sixteen_bit_greyscale_png_keeps_its_tones() -> None:
    out = process_photo(_encode(Image.new("I;16", (600, 800), 30_000), "PNG"), max_bytes=LIMIT)
    grey = _assert_clean_box_jpeg(out).convert("RGB").getpixel((150, 200))
    assert isinstance(grey, tuple)
    assert 100 < grey[0] < 135
