"""The card credential: a MOSIP Claim 169 identity map in a CWT, signed as a COSE_Sign1, and
sealed by default in a COSE_Encrypt0 under a verifier key.

Wire format, outermost first: Base45 (RFC 9285) text, of zlib-compressed bytes, of a COSE_Encrypt0
(CBOR tag 16, AES-256-GCM, the verifier key's kid in its protected header) whose plaintext is a
COSE_Sign1 (RFC 9052, CBOR tag 18); a city that turns sealing off issues the COSE_Sign1 alone,
as cards issued before sealing were. The protected header holds ``alg`` (EdDSA -8 or ES256 -7) and
``kid``. The payload is a CWT claims map: ``iss`` (1), ``exp`` (4), ``nbf`` (5), ``iat`` (6), the
identity map under claim 169, and the card's status-list index under the private-use claim
``STATUS_INDEX_CLAIM``.

The CWT is not wrapped in CBOR tag 61: the ``claim169`` reference decoder rejects it.

The identity map is built from an allow-list. Address, nationality and legal status have Claim 169
keys (10, 13, 22) and this program never puts them in a credential; a key outside the allow-list
raises ``ForbiddenClaim`` before anything is signed.

COSE_Sign1 signing and verification and the key set live in ``idcard.cose`` and are re-exported
here, so callers can keep importing the whole credential API from this module. Base45 is the
``base45`` package's; the helpers here only check shapes and map library errors to reasons a
verifier can report.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2

from cityid.errors import AppError, ErrorKind
from idcard.cose import (
    ALGORITHM_NAMES,
    ALGORITHMS,
    COSE_ENCRYPT0_TAG,
    COSE_SIGN1_TAG,
    HEADER_ALG,
    HEADER_CONTENT_TYPE,
    HEADER_KID,
    HEADER_TYP,
    KID_BYTES,
    BadSignature,
    CoseSign1,
    CredentialError,
    Signer,
    SigningKeyUnusable,
    UnknownKey,
    Unreadable,
    Unsupported,
    find_jwk,
    generate_signing_key,
    generate_verifier_key,
    loads_exact,
    open_encrypt0,
    public_jwk,
    public_jwks,
    read_cose_sign1,
    seal_encrypt0,
    sign_cose,
    verify_cose,
)
from idcard.numbers import is_valid_card_number
from privacy.keyring import SigningKey, VerifierKey

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "ALLOWED_CLAIM169_KEYS",
    "ALLOWED_CWT_KEYS",
    "C169_DATE_OF_BIRTH",
    "C169_FULL_NAME",
    "C169_GENDER",
    "C169_ID",
    "C169_LANGUAGE",
    "C169_VERSION",
    "CLAIM_169",
    "CLAIM_EXP",
    "CLAIM_IAT",
    "CLAIM_ISS",
    "CLAIM_NBF",
    "COSE_ENCRYPT0_TAG",
    "COSE_SIGN1_TAG",
    "GENDER_CODES",
    "GENDER_NAMES",
    "HEADER_ALG",
    "HEADER_CONTENT_TYPE",
    "HEADER_KID",
    "HEADER_TYP",
    "KID_BYTES",
    "MAX_DECOMPRESSED",
    "MAX_QR_TEXT",
    "NEVER_CLAIM169_KEYS",
    "STATUS_INDEX_CLAIM",
    "BadSignature",
    "CardClaims",
    "CoseSign1",
    "CredentialError",
    "ForbiddenClaim",
    "InvalidCardClaims",
    "Signer",
    "SigningKeyUnusable",
    "UnknownKey",
    "Unreadable",
    "Unsupported",
    "check_claim169_keys",
    "check_cwt_keys",
    "claim169_map",
    "decompress_bounded",
    "find_jwk",
    "generate_signing_key",
    "generate_verifier_key",
    "issue_credential",
    "loads_exact",
    "open_qr_text",
    "parse_date_of_birth",
    "public_jwk",
    "public_jwks",
    "read_cose_sign1",
    "read_qr_text",
    "sign_cose",
    "verify_cose",
]

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_169 = 169
# The IANA CWT registry reserves integer keys below -65536 for private use. Claim 169 has no field
# for credential status and leaves it to the issuer, so the index rides in a private claim.
STATUS_INDEX_CLAIM = -70001

C169_ID = 1
C169_VERSION = 2
C169_LANGUAGE = 3
C169_FULL_NAME = 4
C169_DATE_OF_BIRTH = 8
C169_GENDER = 9
ALLOWED_CLAIM169_KEYS = frozenset(
    {C169_ID, C169_VERSION, C169_LANGUAGE, C169_FULL_NAME, C169_DATE_OF_BIRTH, C169_GENDER}
)
# Named only so tests and reviewers can see them; the allow-list above is what enforces.
NEVER_CLAIM169_KEYS = frozenset({10, 13, 22})  # address, nationality, legal status
ALLOWED_CWT_KEYS = frozenset(
    {CLAIM_ISS, CLAIM_EXP, CLAIM_NBF, CLAIM_IAT, CLAIM_169, STATUS_INDEX_CLAIM}
)

# Claim 169 gender codes. The holder chooses whether gender is shown; absent means not shown.
GENDER_CODES: dict[str, int] = {"male": 1, "female": 2, "other": 3}
GENDER_NAMES: dict[int, str] = {v: k for k, v in GENDER_CODES.items()}

MAX_QR_TEXT = 4296  # what a version 40 QR holds in alphanumeric mode; no card of ours is longer
MAX_DECOMPRESSED = 64 * 1024
_LANGUAGE = re.compile(r"[a-z]{3}")


class ForbiddenClaim(AppError):
    kind = ErrorKind.INVALID
    code = "forbidden_claim"
    title = ("A card credential may only carry the card number, issue number, language, name, "
             "date of birth and, if the holder chose it, gender")


class InvalidCardClaims(AppError):
    kind = ErrorKind.INVALID
    code = "invalid_card_claims"
    title = "The card data cannot be put in a credential"


@dataclass(frozen=True)
class CardClaims:
    card_number: str
    issue_number: int
    language: str  # ISO 639-3, as Claim 169 asks
    full_name: str
    date_of_birth: date
    gender: str | None = None  # a key of GENDER_CODES, only when the holder chose to show it


# --- building -----------------------------------------------------------------------------------


def claim169_map(claims: CardClaims) -> dict[int, Any]:
    """The Claim 169 identity map for a card, after checking each value's shape."""
    if not is_valid_card_number(claims.card_number):
        raise InvalidCardClaims("the card number is not 16 digits with a valid check digit")
    if claims.issue_number < 1:
        raise InvalidCardClaims("the issue number must be positive")
    if not _LANGUAGE.fullmatch(claims.language):
        raise InvalidCardClaims("the language must be an ISO 639-3 code such as 'eng'")
    if not claims.full_name.strip():
        raise InvalidCardClaims("the full name is empty")
    identity: dict[int, Any] = {
        C169_ID: claims.card_number,
        C169_VERSION: str(claims.issue_number),
        C169_LANGUAGE: claims.language,
        C169_FULL_NAME: claims.full_name,
        C169_DATE_OF_BIRTH: claims.date_of_birth.strftime("%Y%m%d"),
    }
    if claims.gender is not None:
        if claims.gender not in GENDER_CODES:
            raise InvalidCardClaims(f"gender must be one of {sorted(GENDER_CODES)}")
        identity[C169_GENDER] = GENDER_CODES[claims.gender]
    return identity


def check_claim169_keys(identity: Mapping[Any, Any]) -> None:
    for key in identity:
        if key not in ALLOWED_CLAIM169_KEYS:
            raise ForbiddenClaim()


def check_cwt_keys(cwt_claims: Mapping[Any, Any]) -> None:
    for key in cwt_claims:
        if key not in ALLOWED_CWT_KEYS:
            raise ForbiddenClaim()
    identity = cwt_claims.get(CLAIM_169)
    if not isinstance(identity, Mapping):
        raise InvalidCardClaims("the credential has no Claim 169 map")
    check_claim169_keys(identity)


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise InvalidCardClaims("credential times must be timezone-aware")
    return int(moment.timestamp())


def issue_credential(
    claims: CardClaims,
    *,
    key: SigningKey,
    issuer: str,
    issued_at: datetime,
    not_before: datetime,
    expires_at: datetime,
    status_index: int,
    seal_with: VerifierKey | None = None,
    signer: Signer | None = None,
) -> str:
    """Sign a card credential, seal it under ``seal_with`` if given, and return the Base45 text
    that goes into the QR."""
    if not issuer:
        raise InvalidCardClaims("the issuer is empty")
    if not not_before < expires_at:
        raise InvalidCardClaims("a credential must start before it expires")
    if status_index < 0:
        raise InvalidCardClaims("the status-list index must not be negative")
    cwt_claims: dict[int, Any] = {
        CLAIM_ISS: issuer,
        CLAIM_IAT: _epoch(issued_at),
        CLAIM_NBF: _epoch(not_before),
        CLAIM_EXP: _epoch(expires_at),
        CLAIM_169: claim169_map(claims),
        STATUS_INDEX_CLAIM: status_index,
    }
    check_cwt_keys(cwt_claims)
    signed = sign_cose(cbor2.dumps(cwt_claims, canonical=True), key, signer=signer)
    if seal_with is not None:
        signed = seal_encrypt0(signed, seal_with)
    text: bytes = base45.b45encode(zlib.compress(signed, 9))
    return text.decode("ascii")


def decompress_bounded(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """zlib-inflate at most ``limit`` bytes; a larger, truncated or padded stream is refused."""
    # Claim 169 lets issuers use Brotli and tells readers to tell the two apart by the zlib
    # header; we only issue zlib, so anything else is a format we do not read.
    if len(data) < 2:
        raise Unreadable()
    if data[0] & 0x0F != 8 or ((data[0] << 8) | data[1]) % 31 != 0:
        raise Unsupported()
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error:
        raise Unreadable() from None
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise Unreadable()
    return out


def _inflate_qr_text(qr_text: str) -> bytes:
    if not isinstance(qr_text, str) or not qr_text or len(qr_text) > MAX_QR_TEXT:
        raise Unreadable()
    try:
        compressed: bytes = base45.b45decode(qr_text)
    except (ValueError, TypeError, UnicodeError):
        raise Unreadable() from None
    return decompress_bounded(compressed)


def read_qr_text(qr_text: str) -> CoseSign1:
    """Base45 text of a plain signed credential to a parsed, not yet verified, COSE_Sign1."""
    return read_cose_sign1(_inflate_qr_text(qr_text))


def open_qr_text(qr_text: str, verifier_keys: Mapping[str, bytes]) -> tuple[CoseSign1, str | None]:
    """Base45 text to a parsed, not yet verified, COSE_Sign1, and the kid of the verifier key
    that sealed it (None for a plain signed credential)."""
    data = _inflate_qr_text(qr_text)
    # Peek at the tag before decoding it all: a sealed QR is opened once, then read as a plain one.
    if data[:1] == bytes([0xC0 | COSE_ENCRYPT0_TAG]):
        item = loads_exact(data)
        if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_ENCRYPT0_TAG:
            raise Unreadable()
        sealed_by, signed = open_encrypt0(item, verifier_keys)
        message = read_cose_sign1(signed)
        return message, sealed_by
    return read_cose_sign1(data), None


def parse_date_of_birth(value: str) -> date:
    """Claim 169 writes YYYYMMDD; its own examples and decoders also use YYYY-MM-DD."""
    if len(value) == 8 and value.isascii() and value.isdigit():
        # What we issue, read without strptime, which costs a verifier more than everything but
        # the signature and Base45. For eight ASCII digits strptime accepts exactly these dates.
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise Unreadable() from None
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    raise Unreadable()

