"""COSE_Sign1 (RFC 9052) signing and verification, the signing keys and key set behind them, and
the COSE_Encrypt0 layer that seals a card credential under a verifier key.

Card credentials and the status list are both one COSE_Sign1 with ``alg`` (EdDSA -8 or ES256 -7)
and ``kid`` in the protected header, so both are signed and checked here.

Signing builds the Sig_structure with ``cbor2`` and hands it to a signer: the key provider's
(``Vault.sign``), so a key in a token signs inside the token; by default the key's own PKCS#8
material signs here. Verification composes ``cbor2`` and the signature libraries directly: the
message is decoded once, the Sig_structure ``["Signature1", protected, external_aad, payload]``
(RFC 9052 section 4.4) is encoded with ``cbor2``, and the signature is checked against a public
key object that is built once per published JWK, not once per scan. Ed25519 is checked by
PyNaCl (libsodium), which takes half the time ``cryptography`` does and, unlike OpenSSL, also
refuses a small-order public key; ECDSA stays with ``cryptography``. An offline verifier does
this for every card it reads, and ``cwt`` would decode the headers again and run its generic
multi-recipient logic on each call.

Sealing (Claim 169's optional encryption) is a COSE_Encrypt0 around the signed COSE_Sign1, with
AES-256-GCM (``alg`` 3) and the verifier key's ``kid`` in the protected header, so the kid is
authenticated, and a random 96-bit IV in the unprotected header. It is made by ``cwt`` and opened
the same way signatures are checked: ``cbor2`` builds the Enc_structure ``["Encrypt0",
protected, external_aad]`` (RFC 9052 section 5.3) and ``cryptography``'s AESGCM opens it.
"""

from __future__ import annotations

import base64
import io
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cwt import COSE, COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from cityid.errors import AppError, ErrorKind
from privacy.errors import KeyringError
from privacy.keyring import SigningKey, VerifierKey, sign_with_private_key

# How a COSE signature is made: by the key provider that holds ``key`` (Vault.sign).
Signer = Callable[[SigningKey, bytes], bytes]

HEADER_ALG = 1
HEADER_CONTENT_TYPE = 3
HEADER_KID = 4
HEADER_IV = 5
HEADER_TYP = 16
COSE_SIGN1_TAG = 18
COSE_ENCRYPT0_TAG = 16
SIGNATURE1_CONTEXT = "Signature1"
ENCRYPT0_CONTEXT = "Encrypt0"
A256GCM = 3
IV_BYTES = 12
VERIFIER_KEY_BYTES = 32
EXTERNAL_AAD = b""  # neither the cards nor the status list bind external data

ALGORITHMS: dict[str, int] = {"EdDSA": -8, "ES256": -7}
ALGORITHM_NAMES: dict[int, str] = {v: k for k, v in ALGORITHMS.items()}

KID_BYTES = 6
P256_COORDINATE_BYTES = 32
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

# What a published JWK becomes for verification: libsodium's key for Ed25519, OpenSSL's for P-256.
PublicKey = VerifyKey | ec.EllipticCurvePublicKey


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


# --- signing keys -------------------------------------------------------------------------------


def generate_signing_key(alg: str = "EdDSA", *, now: datetime, held: bool = False) -> SigningKey:
    """A new signing key. The kid is short and random because it is printed into every QR.
    ``held``: the key provider makes the key inside its token when the keyring is saved, so
    it has no material here."""
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if alg not in ALGORITHMS:
        raise SigningKeyUnusable(f"unsupported signing algorithm {alg!r}")
    kid = secrets.token_urlsafe(KID_BYTES)
    if held:
        return SigningKey(kid=kid, alg=alg, private=None, created_at=now.isoformat())
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return SigningKey(kid=kid, alg=alg, private=der, created_at=now.isoformat())


def _public_key(key: SigningKey) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
    try:
        return key.public_key()
    except KeyringError as exc:
        raise SigningKeyUnusable(exc.detail) from None


# --- the published key set ----------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64url(text: str) -> bytes:
    # As lenient as cwt's JWK import was, so a key set that verified before still verifies.
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(key: SigningKey) -> dict[str, str]:
    public = _public_key(key)
    jwk = {"kid": key.kid, "alg": key.alg, "use": "sig"}
    if key.alg == "EdDSA" and isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), **jwk}
    if not (key.alg == "ES256" and isinstance(public, ec.EllipticCurvePublicKey)
            and isinstance(public.curve, ec.SECP256R1)):
        raise SigningKeyUnusable(f"the key does not match its algorithm {key.alg!r}")
    numbers = public.public_numbers()
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
            return (name, x)
    if name == "ES256" and jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        x, y = jwk.get("x"), jwk.get("y")
        if isinstance(x, str) and isinstance(y, str):
            return (name, x, y)
    raise BadSignature()


@lru_cache(maxsize=64)
def _verification_key(fields: tuple[str, ...]) -> PublicKey:
    """The public key object for a JWK's fields. Cached on the key material itself, so a JWKS
    that is replaced or edited can never be answered from a stale entry."""
    name, x, *rest = fields
    if name == "EdDSA":
        return VerifyKey(_unb64url(x))  # refuses anything but 32 bytes
    x_raw, y_raw = _unb64url(x), _unb64url(rest[0])
    if len(x_raw) != P256_COORDINATE_BYTES or len(y_raw) != P256_COORDINATE_BYTES:
        raise ValueError("a P-256 coordinate is not 32 bytes")
    # from_encoded_point checks that the point is on the curve.
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x_raw + y_raw)


# --- COSE_Sign1 ---------------------------------------------------------------------------------

_COSE = COSE.new()


def sign_cose(
    payload: bytes, key: SigningKey, *, headers: Mapping[int, Any] | None = None,
    signer: Signer | None = None,
) -> bytes:
    """A tagged COSE_Sign1 of ``payload``, signed by ``signer`` (the key's provider), or with
    the key's own material when none is given."""
    if key.retired:
        raise SigningKeyUnusable("a retired key does not sign new credentials")
    if key.alg not in ALGORITHMS:
        raise SigningKeyUnusable(f"unsupported signing algorithm {key.alg!r}")
    protected: dict[int, Any] = {HEADER_ALG: ALGORITHMS[key.alg],
                                 HEADER_KID: key.kid.encode("utf-8"), **(headers or {})}
    protected_bytes = cbor2.dumps(protected)
    to_be_signed = cbor2.dumps([SIGNATURE1_CONTEXT, protected_bytes, EXTERNAL_AAD, payload])
    try:
        signature = (signer or sign_with_private_key)(key, to_be_signed)
    except KeyringError as exc:
        raise SigningKeyUnusable(exc.detail) from None
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected_bytes, {}, payload, signature]))


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


def _check_signature(public_key: PublicKey, signature: bytes, to_be_signed: bytes) -> None:
    if isinstance(public_key, VerifyKey):
        # A signature that is not 64 bytes raises nacl's ValueError, as OpenSSL's did not: both
        # end as BadSignature.
        public_key.verify(to_be_signed, signature)
        return
    # COSE carries ECDSA as r || s, fixed length (RFC 9053 section 2.1); cryptography wants DER.
    if len(signature) != 2 * P256_COORDINATE_BYTES:
        raise InvalidSignature()
    r = int.from_bytes(signature[:P256_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[P256_COORDINATE_BYTES:], "big")
    public_key.verify(encode_dss_signature(r, s), to_be_signed, _ECDSA_SHA256)


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
        public_key = _verification_key(fields)
    except Exception:  # a malformed published key cannot vouch for anything
        raise BadSignature() from None
    # alg is in the protected header, so it is never empty and goes in as transmitted.
    to_be_signed = cbor2.dumps(
        [SIGNATURE1_CONTEXT, message.protected_bytes, EXTERNAL_AAD, message.payload]
    )
    try:
        _check_signature(public_key, message.signature, to_be_signed)
    except (InvalidSignature, BadSignatureError, ValueError):
        raise BadSignature() from None
    except Exception:
        raise Unreadable() from None
    return kid


# --- COSE_Encrypt0: sealing a credential under a verifier key ---------------------------------


def generate_verifier_key(*, now: datetime) -> VerifierKey:
    """A new QR verifier key. Its kid is printed into every sealed QR, so it is short."""
    return VerifierKey(kid="v" + secrets.token_urlsafe(KID_BYTES),
                       key=secrets.token_bytes(VERIFIER_KEY_BYTES), created_at=now.isoformat())


@lru_cache(maxsize=16)
def _cose_verifier_key(key: VerifierKey) -> COSEKeyInterface:
    return COSEKey.from_symmetric_key(key.key, alg="A256GCM", kid=key.kid.encode("utf-8"))


def seal_encrypt0(signed: bytes, key: VerifierKey) -> bytes:
    """Encrypt a COSE_Sign1 into a tagged COSE_Encrypt0 under the verifier key."""
    protected = {HEADER_ALG: A256GCM, HEADER_KID: key.kid.encode("utf-8")}
    sealed = _COSE.encode_and_encrypt(signed, _cose_verifier_key(key), protected=protected,
                                      unprotected={HEADER_IV: secrets.token_bytes(IV_BYTES)})
    assert isinstance(sealed, bytes)
    return sealed


def _header_kid(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> str | None:
    kid = protected.get(HEADER_KID, unprotected.get(HEADER_KID))
    if not isinstance(kid, bytes):
        return None
    try:
        return kid.decode("utf-8")
    except UnicodeDecodeError:
        return None


def open_encrypt0(message: cbor2.CBORTag, keys: Mapping[str, bytes]) -> tuple[str, bytes]:
    """The verifier kid and the plaintext (a COSE_Sign1) of a sealed credential.

    Without the key the QR names, ``UnknownKey``; a ciphertext or header that fails the
    AES-GCM tag was altered or sealed by someone else, and is treated like a bad signature."""
    parts = message.value
    if not (isinstance(parts, list) and len(parts) == 3):
        raise Unreadable()
    protected_bytes, unprotected, ciphertext = parts
    if not (isinstance(protected_bytes, bytes) and isinstance(unprotected, dict)
            and isinstance(ciphertext, bytes)):
        raise Unreadable()
    protected = loads_exact(protected_bytes) if protected_bytes else {}
    if not isinstance(protected, dict):
        raise Unreadable()
    if protected.get(HEADER_ALG) != A256GCM:
        raise Unsupported()
    iv = unprotected.get(HEADER_IV)
    if not isinstance(iv, bytes) or len(iv) != IV_BYTES:
        raise Unreadable()
    kid = _header_kid(protected, unprotected)
    secret = keys.get(kid) if kid is not None else None
    if kid is None or secret is None:
        raise UnknownKey()
    aad = cbor2.dumps([ENCRYPT0_CONTEXT, protected_bytes, EXTERNAL_AAD])
    try:
        return kid, AESGCM(secret).decrypt(iv, ciphertext, aad)
    except (InvalidTag, ValueError):
        raise BadSignature() from None


def verifier_jwks(keys: Iterable[VerifierKey]) -> dict[str, list[dict[str, str]]]:
    """Verifier keys as a JWK Set of symmetric keys: what an entitled offline verifier loads."""
    return {"keys": [{"kty": "oct", "alg": "A256GCM", "use": "enc", "kid": k.kid,
                      "k": _b64url(k.key)} for k in keys]}


def parse_verifier_jwks(document: Any) -> dict[str, bytes]:
    """kid to key from a verifier JWK Set (or one JWK); ValueError names what is wrong."""
    if isinstance(document, Mapping) and "keys" not in document:
        document = {"keys": [document]}
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError("not a JWK Set of verifier keys (no \"keys\" list)")
    out: dict[str, bytes] = {}
    for jwk in keys:
        if not (isinstance(jwk, Mapping) and jwk.get("kty") == "oct"
                and jwk.get("alg", "A256GCM") == "A256GCM"
                and isinstance(jwk.get("kid"), str) and isinstance(jwk.get("k"), str)):
            raise ValueError("a key is not an A256GCM symmetric JWK with kid and k")
        try:
            raw = _unb64url(jwk["k"])
        except ValueError:
            raise ValueError(f"key {jwk['kid']} is not base64url") from None
        if len(raw) != VERIFIER_KEY_BYTES:
            raise ValueError(f"key {jwk['kid']} is not {VERIFIER_KEY_BYTES} bytes")
        out[jwk["kid"]] = raw
    return out
