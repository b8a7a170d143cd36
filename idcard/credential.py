"""The card credential: a MOSIP Claim 169 identity map in a CWT, signed as a COSE_Sign1.

Wire format, outermost first: Base45 (RFC 9285) text, of zlib-compressed bytes, of a COSE_Sign1
(RFC 9052, CBOR tag 18). The protected header holds ``alg`` (EdDSA -8 or ES256 -7) and
``kid``. The payload is a CWT claims map: ``iss`` (1), ``exp`` (4), ``nbf`` (5), ``iat`` (6), the
identity map under claim 169, and the card's status-list index under the private-use claim
``STATUS_INDEX_CLAIM``.

The CWT is not wrapped in CBOR tag 61: the ``claim169`` reference decoder rejects it.

The identity map is built from an allow-list. Address, nationality and legal status have Claim 169
keys (10, 13, 22) and this program never puts them in a credential; a key outside the allow-list
raises ``ForbiddenClaim`` before anything is signed.

The COSE, CBOR and Base45 work is done by ``cwt``, ``cbor2`` and ``base45``; the helpers here only
choose headers, check shapes and map library errors to reasons a verifier can report.
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cwt import COSE, COSEKey, VerifyError
from cwt.cose_key_interface import COSEKeyInterface

from cityid.errors import AppError, ErrorKind
from idcard.numbers import is_valid_card_number
from privacy.keyring import SigningKey

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

HEADER_ALG = 1
HEADER_CONTENT_TYPE = 3
HEADER_KID = 4
HEADER_TYP = 16
COSE_SIGN1_TAG = 18

ALGORITHMS: dict[str, int] = {"EdDSA": -8, "ES256": -7}
ALGORITHM_NAMES: dict[int, str] = {v: k for k, v in ALGORITHMS.items()}

# Claim 169 gender codes. The holder chooses whether gender is shown; absent means not shown.
GENDER_CODES: dict[str, int] = {"male": 1, "female": 2, "other": 3}
GENDER_NAMES: dict[int, str] = {v: k for k, v in GENDER_CODES.items()}

MAX_QR_TEXT = 8192  # a version 40 QR holds 4,296 alphanumeric characters
MAX_DECOMPRESSED = 64 * 1024
KID_BYTES = 6
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


class SigningKeyUnusable(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "signing_key_unusable"
    title = "The signing key cannot sign new credentials"


class CredentialError(Exception):
    """Why a credential or signed document could not be accepted; ``reason`` is a verifier code."""

    reason = "unreadable"


class Unreadable(CredentialError):
    reason = "unreadable"


class Unsupported(CredentialError):
    reason = "unsupported"


class UnknownKey(CredentialError):
    reason = "unknown_key"


class BadSignature(CredentialError):
    reason = "bad_signature"


@dataclass(frozen=True)
class CardClaims:
    card_number: str
    issue_number: int
    language: str  # ISO 639-3, as Claim 169 asks
    full_name: str
    date_of_birth: date
    gender: str | None = None  # a key of GENDER_CODES, only when the holder chose to show it


@dataclass(frozen=True)
class CoseSign1:
    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes
    message: cbor2.CBORTag

    @property
    def alg(self) -> int | None:
        alg = self.protected.get(HEADER_ALG)
        return alg if isinstance(alg, int) else None

    @property
    def kid(self) -> str | None:
        # kid is authenticated only in the protected bucket, but either bucket may name the key:
        # a wrong key fails the signature check anyway.
        kid = self.protected.get(HEADER_KID, self.unprotected.get(HEADER_KID))
        if not isinstance(kid, bytes):
            return None
        try:
            return kid.decode("utf-8")
        except UnicodeDecodeError:
            return None


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
) -> str:
    """Sign a card credential and return the Base45 text that goes into the QR."""
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
    signed = sign_cose(cbor2.dumps(cwt_claims, canonical=True), key)
    text: bytes = base45.b45encode(zlib.compress(signed, 9))
    return text.decode("ascii")


# --- keys ---------------------------------------------------------------------------------------


def generate_signing_key(alg: str = "EdDSA", *, now: datetime) -> SigningKey:
    """A new signing key. The kid is short and random because it is printed into every QR."""
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise SigningKeyUnusable(f"unsupported signing algorithm {alg!r}")
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid=secrets.token_urlsafe(KID_BYTES), alg=alg, private=der,
                      created_at=now.isoformat())


def _load_private(key: SigningKey) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    try:
        private = serialization.load_der_private_key(key.private, password=None)
    except (ValueError, TypeError):
        raise SigningKeyUnusable("the signing key is not PKCS#8 DER") from None
    if key.alg == "EdDSA" and isinstance(private, ed25519.Ed25519PrivateKey):
        return private
    if (key.alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey)
            and isinstance(private.curve, ec.SECP256R1)):
        return private
    raise SigningKeyUnusable(f"the key does not match its algorithm {key.alg!r}")


@lru_cache(maxsize=16)
def _cose_signing_key(key: SigningKey) -> COSEKeyInterface:
    pem = _load_private(key).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return COSEKey.from_pem(pem, alg=key.alg, kid=key.kid)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def public_jwk(key: SigningKey) -> dict[str, str]:
    private = _load_private(key)
    jwk = {"kid": key.kid, "alg": key.alg, "use": "sig"}
    if isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), **jwk}
    numbers = private.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")), **jwk}


def public_jwks(keys: Iterable[SigningKey]) -> dict[str, list[dict[str, str]]]:
    """The published key set. Pass retired keys too until the last card they signed expires."""
    return {"keys": [public_jwk(key) for key in keys]}


def find_jwk(jwks: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        return None
    for jwk in keys:
        if isinstance(jwk, Mapping) and jwk.get("kid") == kid:
            return jwk
    return None


def _jwk_fields(jwk: Mapping[str, Any], alg: int) -> tuple[str, ...]:
    """The fields of a public JWK that fit ``alg``, or BadSignature: a credential that names an
    algorithm its key is not for is treated as a forgery attempt."""
    name = ALGORITHM_NAMES[alg]
    declared = jwk.get("alg", name)
    if declared != name:
        raise BadSignature()
    if name == "EdDSA" and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        x = jwk.get("x")
        if isinstance(x, str):
            return ("OKP", "Ed25519", name, str(jwk.get("kid")), x)
    if name == "ES256" and jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        x, y = jwk.get("x"), jwk.get("y")
        if isinstance(x, str) and isinstance(y, str):
            return ("EC", "P-256", name, str(jwk.get("kid")), x, y)
    raise BadSignature()


@lru_cache(maxsize=64)
def _cose_verification_key(fields: tuple[str, ...]) -> COSEKeyInterface:
    kty, crv, alg, kid, x, *rest = fields
    data = {"kty": kty, "crv": crv, "alg": alg, "kid": kid, "x": x}
    if rest:
        data["y"] = rest[0]
    return COSEKey.from_jwk(data)


# --- COSE_Sign1 ---------------------------------------------------------------------------------

_COSE = COSE.new()


def sign_cose(
    payload: bytes, key: SigningKey, *, headers: Mapping[int, Any] | None = None
) -> bytes:
    if key.retired:
        raise SigningKeyUnusable("a retired key does not sign new credentials")
    if key.alg not in ALGORITHMS:
        raise SigningKeyUnusable(f"unsupported signing algorithm {key.alg!r}")
    protected: dict[int, Any] = {HEADER_ALG: ALGORITHMS[key.alg],
                                 HEADER_KID: key.kid.encode("utf-8"), **(headers or {})}
    signed = _COSE.encode_and_sign(payload, _cose_signing_key(key), protected=protected)
    assert isinstance(signed, bytes)
    return signed


def loads_exact(data: bytes) -> Any:
    """Decode one CBOR item and refuse trailing bytes, which ``cbor2.loads`` would ignore."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception:  # cbor2 raises many kinds on hostile input; all mean "not readable"
        raise Unreadable() from None
    if stream.tell() != len(data):
        raise Unreadable()
    return item


def read_cose_sign1(data: bytes) -> CoseSign1:
    item = loads_exact(data)
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            # Encrypt0/Encrypt/MAC/multi-signer COSE and anything else tagged: not ours to read.
            raise Unsupported()
        message = item
    elif isinstance(item, list):
        message = cbor2.CBORTag(COSE_SIGN1_TAG, item)
    else:
        raise Unreadable()
    parts = message.value
    if not (isinstance(parts, list) and len(parts) == 4):
        raise Unreadable()
    protected_bytes, unprotected, payload, signature = parts
    if not (isinstance(protected_bytes, bytes) and isinstance(unprotected, dict)
            and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise Unreadable()
    protected = loads_exact(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, dict):
        raise Unreadable()
    return CoseSign1(protected_bytes, protected, unprotected, payload, signature, message)


def verify_cose(message: CoseSign1, jwks: Mapping[str, Any]) -> str:
    """Check the signature against the key set; return the kid that verified it."""
    alg = message.alg
    if alg not in ALGORITHM_NAMES:
        raise Unsupported()
    kid = message.kid
    jwk = find_jwk(jwks, kid) if kid is not None else None
    if kid is None or jwk is None:
        raise UnknownKey()
    fields = _jwk_fields(jwk, alg)
    try:
        verification_key = _cose_verification_key(fields)
    except Exception:  # a malformed published key cannot vouch for anything
        raise BadSignature() from None
    try:
        _COSE.decode_with_headers(message.message, [verification_key])
    except VerifyError:
        raise BadSignature() from None
    except Exception:
        raise Unreadable() from None
    return kid


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


def read_qr_text(qr_text: str) -> CoseSign1:
    """Base45 text to a parsed, not yet verified, COSE_Sign1."""
    if not isinstance(qr_text, str) or not qr_text or len(qr_text) > MAX_QR_TEXT:
        raise Unreadable()
    try:
        compressed: bytes = base45.b45decode(qr_text)
    except (ValueError, TypeError, UnicodeError):
        raise Unreadable() from None
    return read_cose_sign1(decompress_bounded(compressed))


def parse_date_of_birth(value: str) -> date:
    """Claim 169 writes YYYYMMDD; its own examples and decoders also use YYYY-MM-DD."""
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    raise Unreadable()

