"""Ed25519 signatures are checked by PyNaCl (libsodium) since OpenSSL was twice as slow. Each
signature libsodium refuses answers ``bad_signature``, as it did through ``cryptography``; each
case below is also shown refused by OpenSSL, so the answer is the one the verifier gave before.
The one case where the two differ, a small-order public key, libsodium refuses and OpenSSL let
through."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from idcard.credential import sign_cose
from idcard.verifier import Reason, verify_credential
from privacy.keyring import SigningKey
from tests.idcard.conftest import NOW, IssueFn, StatusFn, unb64url

# The order of the Ed25519 base point (RFC 8032 section 5.1): a signature's S must be below it.
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
# The neutral element (x = 0, y = 1) in RFC 8032's encoding: a point of order 1.
IDENTITY_POINT = (1).to_bytes(32, "little")


def signed_parts(qr_text: str) -> list[Any]:
    """[protected, unprotected, payload, signature] of a plain signed QR."""
    message = cbor2.loads(zlib.decompress(base45.b45decode(qr_text)))
    parts: list[Any] = message.value
    return parts


def with_signature(qr_text: str, signature: bytes) -> str:
    protected, unprotected, payload, _ = signed_parts(qr_text)
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, signature]))
    text: str = base45.b45encode(zlib.compress(cose)).decode()
    return text


def to_be_signed(qr_text: str) -> bytes:
    protected, _, payload, _ = signed_parts(qr_text)
    return cbor2.dumps(["Signature1", protected, b"", payload])


def openssl_refuses(public: bytes, qr_text: str) -> bool:
    """What the verifier's Ed25519 check answered before PyNaCl."""
    signature = signed_parts(qr_text)[3]
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, to_be_signed(qr_text))
    except (InvalidSignature, ValueError):
        return True
    return False


def published_x(jwks: dict[str, Any], key: SigningKey) -> bytes:
    jwk = next(j for j in jwks["keys"] if j["kid"] == key.kid)
    return unb64url(jwk["x"])


def flip(raw: bytes, bit: int) -> bytes:
    changed = bytearray(raw)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def s_plus_order(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:], "little") + GROUP_ORDER
    return signature[:32] + s.to_bytes(32, "little")


SIGNATURE_CHANGES: dict[str, Callable[[bytes], bytes]] = {
    "first bit of R flipped": lambda sig: flip(sig, 0),
    "a bit in the middle of R flipped": lambda sig: flip(sig, 131),
    "first bit of S flipped": lambda sig: flip(sig, 256),
    "last bit of S flipped": lambda sig: flip(sig, 511),
    "S replaced by S + L (non-canonical)": s_plus_order,
    "one byte short": lambda sig: sig[:63],
    "one byte long": lambda sig: sig + b"\x00",
    "empty": lambda sig: b"",
    "all zero": lambda sig: bytes(64),
}


@pytest.mark.parametrize("change", SIGNATURE_CHANGES, ids=list(SIGNATURE_CHANGES))
def test_a_changed_signature_is_a_bad_signature_as_before(
        change: str, issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any],
        status: StatusFn) -> None:
    genuine = issue()
    changed = with_signature(genuine, SIGNATURE_CHANGES[change](signed_parts(genuine)[3]))
    assert openssl_refuses(published_x(jwks, ed_key), changed)
    verdict = verify_credential(changed, jwks=jwks, status=status(), now=NOW)
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert verdict.fields is None


def test_a_card_checked_against_another_published_key_is_a_bad_signature_as_before(
        issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    swapped = {"keys": [{**jwk, "x": base64.urlsafe_b64encode(other).decode().rstrip("=")}
                        if jwk["kid"] == ed_key.kid else jwk for jwk in jwks["keys"]]}
    card = issue()
    assert openssl_refuses(other, card)
    assert verify_credential(card, jwks=swapped, status=status(),
                             now=NOW).reason is Reason.BAD_SIGNATURE


def test_a_small_order_published_key_vouches_for_nothing(
        issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    # With A the neutral element, R = A and S = 0 satisfy [S]B = R + [k]A for every message:
    # anyone can "sign" for such a key. OpenSSL accepts that; libsodium refuses small-order keys.
    forged_signature = IDENTITY_POINT + bytes(32)
    payload = signed_parts(issue())[2]
    forged = base45.b45encode(zlib.compress(sign_cose(
        payload, ed_key, signer=lambda key, data: forged_signature))).decode()
    weak = {"keys": [{**jwk, "x": base64.urlsafe_b64encode(IDENTITY_POINT).decode().rstrip("=")}
                     if jwk["kid"] == ed_key.kid else jwk for jwk in jwks["keys"]]}
    assert not openssl_refuses(IDENTITY_POINT, forged)  # what the verifier answered "ok" to
    verdict = verify_credential(forged, jwks=weak, status=status(), now=NOW)
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert verdict.fields is None


def test_a_published_key_of_the_wrong_length_is_a_bad_signature(
        issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    for length in (31, 33):
        x = base64.urlsafe_b64encode(published_x(jwks, ed_key)[:length].ljust(length, b"\0"))
        damaged = {"keys": [{**jwk, "x": x.decode().rstrip("=")} for jwk in jwks["keys"]
                            if jwk["kid"] == ed_key.kid]}
        assert verify_credential(issue(), jwks=damaged, status=status(),
                                 now=NOW).reason is Reason.BAD_SIGNATURE
