"""Sealed credentials (Claim 169's COSE_Encrypt0 under a verifier key) and what the verifier
accepts, without a database: sealing, opening, rotation, tampering, and strictness about fields
this program never issues."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import claim169  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from idcard.cose import generate_verifier_key, parse_verifier_jwks, verifier_jwks
from idcard.credential import (
    C169_GENDER,
    CLAIM_169,
    MAX_QR_TEXT,
    CardClaims,
    issue_credential,
    sign_cose,
)
from idcard.verifier import Reason, verify_credential
from privacy.keyring import Keyring, SigningKey, VerifierKey
from tests.idcard.conftest import ISSUER, NOW, STATUS_INDEX, IssueFn, StatusFn, unb64url

VERIFIER = generate_verifier_key(now=NOW)
KEYS = {VERIFIER.kid: VERIFIER.key}


def sealed(claims: CardClaims, key: SigningKey, seal: VerifierKey = VERIFIER) -> str:
    from datetime import timedelta

    return issue_credential(claims, key=key, issuer=ISSUER, issued_at=NOW - timedelta(days=1),
                            not_before=NOW - timedelta(days=1),
                            expires_at=NOW + timedelta(days=365), status_index=STATUS_INDEX,
                            seal_with=seal)


def layers(qr: str) -> cbor2.CBORTag:
    item = cbor2.loads(zlib.decompress(base45.b45decode(qr)))
    assert isinstance(item, cbor2.CBORTag)
    return item


def rewrap(raw: bytes) -> str:
    text: str = base45.b45encode(zlib.compress(raw)).decode()
    return text


def test_a_sealed_credential_verifies_with_its_verifier_key(
        claims: CardClaims, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = sealed(claims, ed_key)
    assert layers(qr).tag == 16
    verdict = verify_credential(qr, jwks=jwks, status=status(), now=NOW, verifier_keys=KEYS)
    assert verdict.reason is Reason.OK
    assert verdict.fields is not None and verdict.fields.full_name == "Zoë Ñúñez"
    assert verdict.fields.sealed_by == VERIFIER.kid


def test_without_the_verifier_key_a_sealed_credential_is_an_unknown_key_and_shows_nothing(
        claims: CardClaims, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = sealed(claims, ed_key)
    other = generate_verifier_key(now=NOW)
    for keys in (None, {other.kid: other.key}):
        verdict = verify_credential(qr, jwks=jwks, status=status(), now=NOW, verifier_keys=keys)
        assert verdict.reason is Reason.UNKNOWN_KEY and verdict.fields is None
    opened = zlib.decompress(base45.b45decode(qr))
    assert claims.full_name.encode() not in opened and claims.card_number.encode() not in opened


def test_a_wrong_key_under_the_right_kid_or_a_changed_byte_fails_the_seal(
        claims: CardClaims, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = sealed(claims, ed_key)
    impostor = {VERIFIER.kid: generate_verifier_key(now=NOW).key}
    assert verify_credential(qr, jwks=jwks, status=status(), now=NOW,
                             verifier_keys=impostor).reason is Reason.BAD_SIGNATURE
    message = layers(qr)
    protected, unprotected, ciphertext = message.value
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    for parts in ([protected, unprotected, flipped],
                  [protected, {5: bytes(12)}, ciphertext]):
        changed = rewrap(cbor2.dumps(cbor2.CBORTag(16, parts)))
        assert verify_credential(changed, jwks=jwks, status=status(), now=NOW,
                                 verifier_keys=KEYS).reason is Reason.BAD_SIGNATURE


def test_the_verifier_kid_is_authenticated(claims: CardClaims, ed_key: SigningKey,
                                           jwks: dict[str, Any], status: StatusFn) -> None:
    second = generate_verifier_key(now=NOW)
    qr = sealed(claims, ed_key)
    protected, unprotected, ciphertext = layers(qr).value
    header = cbor2.loads(protected)
    header[4] = second.kid.encode()
    relabelled = rewrap(cbor2.dumps(cbor2.CBORTag(16, [cbor2.dumps(header), unprotected,
                                                        ciphertext])))
    both = {**KEYS, second.kid: VERIFIER.key}
    assert verify_credential(relabelled, jwks=jwks, status=status(), now=NOW,
                             verifier_keys=both).reason is Reason.BAD_SIGNATURE


def test_plain_signed_credentials_from_before_sealing_keep_verifying(
        issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    verdict = verify_credential(issue(), jwks=jwks, status=status(), now=NOW, verifier_keys=KEYS)
    assert verdict.reason is Reason.OK and verdict.fields is not None
    assert verdict.fields.sealed_by is None


def test_a_rotated_verifier_key_seals_new_cards_and_the_old_key_still_opens_old_ones(
        claims: CardClaims, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    keyring = Keyring.generate().with_verifier_key(VERIFIER)
    rotated = keyring.with_verifier_key(generate_verifier_key(now=NOW))
    assert rotated.active_verifier_kid != VERIFIER.kid
    reloaded = Keyring.from_json(rotated.to_json())
    assert reloaded.verifier_keys == rotated.verifier_keys
    new = next(k for k in reloaded.verifier_keys if k.kid == reloaded.active_verifier_kid)
    keys = parse_verifier_jwks(verifier_jwks(reloaded.verifier_keys))
    for qr in (sealed(claims, ed_key), sealed(claims, ed_key, new)):
        assert verify_credential(qr, jwks=jwks, status=status(), now=NOW,
                                 verifier_keys=keys).reason is Reason.OK


def test_the_independent_decoder_reads_our_sealed_credential_only_with_the_key(
        claims: CardClaims, ed_key: SigningKey, jwks: dict[str, Any]) -> None:
    qr = sealed(claims, ed_key)
    public = Ed25519PublicKey.from_public_bytes(unb64url(jwks["keys"][0]["x"]))

    def check(algorithm: str, kid: Any, data: bytes, signature: bytes) -> None:
        public.verify(signature, data)

    decoded = claim169.decode_encrypted_aes256(qr, VERIFIER.key, verifier=check)
    assert decoded.is_verified() and decoded.claim169.full_name == "Zoë Ñúñez"
    with pytest.raises(claim169.Claim169Exception):
        claim169.decode_with_ed25519(qr, unb64url(jwks["keys"][0]["x"]))


def _resigned(qr: str, key: SigningKey, change: Any) -> str:
    message = cbor2.loads(zlib.decompress(base45.b45decode(qr)))
    cwt = cbor2.loads(message.value[2])
    change(cwt)
    return rewrap(sign_cose(cbor2.dumps(cwt), key))


@pytest.mark.parametrize("field", [10, 13, 22, 99, -1])
def test_a_claim169_field_this_program_never_issues_is_unsupported(
        field: int, issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any],
        status: StatusFn) -> None:
    qr = _resigned(issue(), ed_key, lambda cwt: cwt[CLAIM_169].__setitem__(field, "x"))
    assert verify_credential(qr, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_a_cwt_claim_this_program_never_issues_is_unsupported(
        issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = _resigned(issue(), ed_key, lambda cwt: cwt.__setitem__(2, "subject"))
    assert verify_credential(qr, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


@pytest.mark.parametrize("gender", [True, 1.0, 2.0, "1", "female", 0, 4, -1])
def test_gender_must_be_an_integer_of_the_defined_set(
        gender: Any, issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any],
        status: StatusFn) -> None:
    qr = _resigned(issue(), ed_key, lambda cwt: cwt[CLAIM_169].__setitem__(C169_GENDER, gender))
    assert verify_credential(qr, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_a_qr_text_over_the_size_limit_is_unreadable(
        issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = issue()
    assert verify_credential(qr + " " * (MAX_QR_TEXT - len(qr) + 1), jwks=jwks,
                             status=status(), now=NOW).reason is Reason.UNREADABLE


def test_verifier_key_files_are_checked(ed_key: SigningKey) -> None:
    good = verifier_jwks([VERIFIER])
    assert parse_verifier_jwks(good) == KEYS
    assert parse_verifier_jwks(good["keys"][0]) == KEYS
    short = {**good["keys"][0], "k": base64.urlsafe_b64encode(b"short").decode()}
    bad: Any
    for bad in ({}, {"keys": []}, {"keys": [{"kty": "OKP"}]}, {"keys": [short]}, [], "x"):
        with pytest.raises(ValueError):
            parse_verifier_jwks(bad)
