from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import claim169  # type: ignore[import-untyped]
import pytest
import zxingcpp
from PIL import Image, ImageChops, features

from idcard.credential import public_jwk
from idcard.errors import (
    MissingGlyph,
    PhotoUnreadable,
    QrDoesNotFit,
    RenderError,
    TextDoesNotFit,
)
from idcard.qr_image import MIN_MODULE_PX, qr_image, qr_matrix
from idcard.render import (
    CARD_HEIGHT_PX,
    CARD_WIDTH_PX,
    CardFace,
    png_bytes,
    render_back,
    render_front,
    render_pdf,
)
from idcard.typesetting import default_fonts
from idcard.verifier import Reason, verify_credential
from privacy.keyring import SigningKey
from tests.idcard.conftest import NOW, STATUS_INDEX, IssueFn, StatusFn, unb64url

NAMES = {
    "latin": "Zoë Ñúñez-Łukasiewicz",
    "cyrillic": "Анна Ивановна Петрова",
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "chinese": "王小明",
    "arabic": "محمد بن عبد الله",
}


def face(**changes: Any) -> CardFace:
    values: dict[str, Any] = {
        "full_name": NAMES["latin"], "date_of_birth": date(1990, 1, 2),
        "card_number": "4539148803436467", "expires_on": date(2030, 2, 9),
        "issuer_name": "City of Example",
        "designations": ("Veteran", "Organ donor", "Gender: female", "Languages: English"),
        **changes,
    }
    return CardFace(**values)


def photographed(image: Image.Image) -> Image.Image:
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
    return half.rotate(5, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)


def scan(image: Image.Image) -> str:
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    text: str = found[0].text
    return text


def from_png(image: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(png_bytes(image)))


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as printed": lambda image: image,
    "scaled to 50%": lambda image: image.resize((image.width // 2, image.height // 2),
                                                Image.Resampling.LANCZOS),
    "rotated 5 degrees": lambda image: image.rotate(5, expand=True, fillcolor=255,
                                                    resample=Image.Resampling.BICUBIC),
    "photographed (50% and 5 degrees)": photographed,
}


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS.keys())
def test_card_image_round_trips_to_an_independent_decoder(
        transform: Callable[[Image.Image], Image.Image], issue: IssueFn, ed_key: SigningKey,
        jwks: dict[str, Any]) -> None:
    qr = issue()
    text = scan(transform(from_png(render_back(qr, issuer_name="City of Example"))))
    assert text == qr
    published = next(k for k in jwks["keys"] if k["kid"] == ed_key.kid)
    result = claim169.decode_with_ed25519(text, unb64url(published["x"]),
                                          validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.id == "4539148803436467"
    assert result.claim169.full_name == "Zoë Ñúñez"


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=TRANSFORMS.keys())
def test_card_image_round_trips_to_our_verifier(
        transform: Callable[[Image.Image], Image.Image], issue: IssueFn, jwks: dict[str, Any],
        status: StatusFn) -> None:
    text = scan(transform(from_png(render_back(issue()))))
    assert verify_credential(text, jwks=jwks, status=status(), now=NOW).reason is Reason.OK


def test_a_revoked_card_scanned_from_its_image_is_revoked(issue: IssueFn, jwks: dict[str, Any],
                                                          status: StatusFn) -> None:
    text = scan(photographed(render_back(issue())))
    verdict = verify_credential(text, jwks=jwks, status=status(revoked={STATUS_INDEX}), now=NOW)
    assert verdict.reason is Reason.REVOKED


def test_an_es256_card_image_verifies_with_claim169(issue: IssueFn, es_key: SigningKey) -> None:
    text = scan(photographed(render_back(issue(key=es_key))))
    jwk = public_jwk(es_key)
    public = b"\x04" + unb64url(jwk["x"]) + unb64url(jwk["y"])
    assert claim169.decode_with_ecdsa_p256(text, public, validate_timestamps=False).is_verified()


def test_qr_uses_error_correction_m_and_modules_of_half_a_millimetre(issue: IssueFn) -> None:
    qr = issue()
    found = zxingcpp.read_barcodes(render_back(qr))[0]
    assert found.ec_level == "M"
    modules = len(qr_matrix(qr))
    side = qr_image(qr, CARD_HEIGHT_PX - 40).width
    assert side % modules == 0
    assert side // modules >= MIN_MODULE_PX
    assert side // modules / 300 * 25.4 >= 0.5


def test_qr_refuses_text_outside_the_alphanumeric_alphabet() -> None:
    with pytest.raises(QrDoesNotFit):
        qr_matrix("lowercase is byte mode")


def test_qr_too_long_for_half_millimetre_modules_raises() -> None:
    with pytest.raises(QrDoesNotFit):
        render_back("A" * 1500)


def test_qr_too_long_for_any_version_raises() -> None:
    with pytest.raises(QrDoesNotFit):
        qr_matrix("A" * 5000)


def test_sides_are_cr80_at_300_dpi(issue: IssueFn) -> None:
    for image in (render_front(face(), None), render_back(issue())):
        assert image.size == (CARD_WIDTH_PX, CARD_HEIGHT_PX) == (1011, 638)
        reopened = from_png(image)
        assert reopened.format == "PNG"
        assert tuple(round(v) for v in reopened.info["dpi"]) == (300, 300)


def test_text_is_shaped_by_raqm() -> None:
    assert features.check("raqm")


@pytest.mark.parametrize("script", NAMES)
def test_names_in_each_script_render(script: str) -> None:
    name = NAMES[script]
    runs = default_fonts().runs(name)
    assert "".join(chunk for _, chunk in runs) == name
    with_name = render_front(face(full_name=name), None)
    blank_name = render_front(face(full_name="."), None)
    assert ImageChops.difference(with_name, blank_name).getbbox() is not None


@pytest.mark.parametrize(("char", "font_file"), [
    ("é", "NotoSans-Regular.ttf"),
    ("Ж", "NotoSans-Regular.ttf"),
    ("Ω", "NotoSans-Regular.ttf"),
    ("王", "NotoSansCJK-Regular.ttc"),
    ("م", "NotoSansArabic-Regular.ttf"),
])
def test_each_script_gets_a_font_that_has_its_glyphs(char: str, font_file: str) -> None:
    assert default_fonts().face_for(char).regular.name == font_file


def test_arabic_letters_are_joined() -> None:
    joined = render_front(face(full_name="محمد"), None)
    isolated = render_front(face(full_name="\u200c".join("محمد")), None)  # ZWNJ blocks joining
    assert ImageChops.difference(joined, isolated).getbbox() is not None


@pytest.mark.parametrize("name", ["Anna \u0378 Petrova", "Bad\x07Bell"])
def test_a_character_no_font_covers_raises(name: str) -> None:
    with pytest.raises(MissingGlyph):
        render_front(face(full_name=name), None)


def test_a_name_too_long_for_the_card_raises() -> None:
    with pytest.raises(TextDoesNotFit):
        render_front(face(full_name=" ".join(["Maximiliana"] * 20)), None)


def test_a_long_name_wraps_instead_of_being_cut() -> None:
    render_front(face(full_name="Maria José Gonçalves da Silva Pereira Rodrigues"), None)


def test_address_and_care_of_address_are_exclusive() -> None:
    with pytest.raises(RenderError):
        face(address="1 Main St", care_of_address="c/o Legal Aid")


@pytest.mark.parametrize("shown", [{"address": "1200 Market St\nApt 4B"},
                                   {"care_of_address": "c/o Community Legal Aid"}, {}])
def test_the_front_shows_an_address_a_care_of_address_or_neither(shown: dict[str, str]) -> None:
    with_address = render_front(face(**shown), None)
    without = render_front(face(), None)
    assert (ImageChops.difference(with_address, without).getbbox() is not None) == bool(shown)


def test_the_photo_fills_the_photo_box() -> None:
    photo = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 30, 40)).save(photo, "PNG")
    image = render_front(face(), photo.getvalue())
    assert image.getpixel((150, 280)) == (200, 30, 40)


def test_an_unreadable_photo_raises() -> None:
    with pytest.raises(PhotoUnreadable):
        render_front(face(), b"not an image")


def test_pdf_has_one_cr80_page_per_side(issue: IssueFn) -> None:
    cards = [(render_front(face(), None), render_back(issue())) for _ in range(2)]
    pdf = render_pdf(cards)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 4
    boxes = set(re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf))
    assert len(boxes) == 1
    width, height = (float(v) for v in boxes.pop())
    assert width == pytest.approx(85.6 / 25.4 * 72, abs=0.05)
    assert height == pytest.approx(54 / 25.4 * 72, abs=0.05)


def test_pdf_refuses_an_empty_batch() -> None:
    with pytest.raises(RenderError):
        render_pdf([])


def test_pdf_refuses_a_page_of_the_wrong_size() -> None:
    small = Image.new("RGB", (100, 60), "white")
    with pytest.raises(RenderError):
        render_pdf([(small, small)])
