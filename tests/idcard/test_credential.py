from __future__ import annotations

import dataclasses
import zlib
from datetime import date, timedelta
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import claim169  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from idcard.credential import (
    ALLOWED_CLAIM169_KEYS,
    ALLOWED_CWT_KEYS,
    STATUS_INDEX_CLAIM,
    CardClaims,
    ForbiddenClaim,
    InvalidCardClaims,
    SigningKeyUnusable,
    check_claim169_keys,
    check_cwt_keys,
    issue_credential,
    public_jwk,
)
from idcard.numbers import generate_card_number
from privacy.keyring import SigningKey
from tests.idcard.conftest import ISSUER, NOW, STATUS_INDEX, IssueFn, unb64url


def cose_parts(qr_text: str) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    """Protected header, unprotected header and CWT claims, read without the code under test."""
    message = cbor2.loads(zlib.decompress(base45.b45decode(qr_text)))
    assert isinstance(message, cbor2.CBORTag) and message.tag == 18
    protected, unprotected, payload, _ = message.value
    return cbor2.loads(protected), unprotected, cbor2.loads(payload)


def ed25519_public(key: SigningKey) -> bytes:
    return unb64url(public_jwk(key)["x"])


def p256_public(key: SigningKey) -> bytes:
    jwk = public_jwk(key)
    return b"\x04" + unb64url(jwk["x"]) + unb64url(jwk["y"])


def test_claim169_package_verifies_an_ed25519_credential(issue: IssueFn, ed_key: SigningKey
                                                         ) -> None:
    result = claim169.decode_with_ed25519(issue(), ed25519_public(ed_key),
                                          validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.id == "4539148803436467"
    assert result.claim169.version == "2"
    assert result.claim169.language == "eng"
    assert result.claim169.full_name == "Zoë Ñúñez"
    assert result.claim169.date_of_birth == "19900102"
    assert result.claim169.gender == claim169.Gender.FEMALE
    assert result.cwt_meta.issuer == ISSUER


def test_claim169_package_verifies_an_es256_credential(issue: IssueFn, es_key: SigningKey
                                                       ) -> None:
    result = claim169.decode_with_ecdsa_p256(issue(key=es_key), p256_public(es_key),
                                             validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.full_name == "Zoë Ñúñez"


def test_claim169_package_refuses_another_key(issue: IssueFn, stranger_key: SigningKey) -> None:
    with pytest.raises(claim169.SignatureError):
        claim169.decode_with_ed25519(issue(), ed25519_public(stranger_key),
                                     validate_timestamps=False)


def test_kid_and_alg_are_in_the_protected_header(issue: IssueFn, ed_key: SigningKey) -> None:
    protected, unprotected, _ = cose_parts(issue())
    assert protected == {1: -8, 4: ed_key.kid.encode()}
    assert unprotected == {}
    assert claim169.inspect(issue()).key_id == ed_key.kid.encode()


def test_cwt_carries_iss_iat_nbf_exp_and_the_status_index(issue: IssueFn) -> None:
    not_before = NOW - timedelta(days=1)
    expires_at = NOW + timedelta(days=365 * 4)
    _, _, cwt = cose_parts(issue(not_before=not_before, expires_at=expires_at))
    assert cwt[1] == ISSUER
    assert cwt[6] == int(not_before.timestamp())
    assert cwt[5] == int(not_before.timestamp())
    assert cwt[4] == int(expires_at.timestamp())
    assert cwt[STATUS_INDEX_CLAIM] == STATUS_INDEX


def test_gender_is_left_out_unless_shown(issue: IssueFn, claims: CardClaims,
                                         ed_key: SigningKey) -> None:
    qr = issue(dataclasses.replace(claims, gender=None))
    assert 9 not in cose_parts(qr)[2][169]
    result = claim169.decode_with_ed25519(qr, ed25519_public(ed_key), validate_timestamps=False)
    assert result.claim169.gender is None


@pytest.mark.parametrize(("gender", "code"), [("male", 1), ("female", 2), ("other", 3)])
def test_gender_uses_claim169_codes(issue: IssueFn, claims: CardClaims, gender: str,
                                    code: int) -> None:
    assert cose_parts(issue(dataclasses.replace(claims, gender=gender)))[2][169][9] == code


names = st.text(st.characters(categories=("L", "M", "Zs", "Pd")),
                min_size=1, max_size=60).filter(lambda s: bool(s.strip()))
card_claims = st.builds(
    CardClaims,
    card_number=st.builds(generate_card_number),
    issue_number=st.integers(1, 99),
    language=st.sampled_from(["eng", "spa", "ara", "zho", "rus", "ell"]),
    full_name=names,
    date_of_birth=st.dates(date(1900, 1, 1), date(2025, 12, 31)),
    gender=st.sampled_from([None, "male", "female", "other"]),
)


@settings(max_examples=60, deadline=None)
@given(card=card_claims)
def test_no_credential_carries_nationality_legal_status_or_address(
        card: CardClaims, ed_key: SigningKey) -> None:
    qr = issue_credential(card, key=ed_key, issuer=ISSUER, issued_at=NOW, not_before=NOW,
                          expires_at=NOW + timedelta(days=30), status_index=1)
    _, _, cwt = cose_parts(qr)
    assert set(cwt) <= ALLOWED_CWT_KEYS
    assert set(cwt[169]) <= ALLOWED_CLAIM169_KEYS
    assert not {10, 13, 22} & set(cwt[169])
    decoded = claim169.decode_with_ed25519(qr, ed25519_public(ed_key),
                                           validate_timestamps=False).claim169
    assert decoded.address is None
    assert decoded.nationality is None
    assert decoded.legal_status is None
    assert decoded.full_name == card.full_name


@pytest.mark.parametrize("key", [10, 13, 22, 16, 62, "nationality"])
def test_a_claim_outside_the_allow_list_raises(key: object) -> None:
    with pytest.raises(ForbiddenClaim):
        check_claim169_keys({1: "4539148803436467", key: "x"})


def test_an_extra_cwt_claim_raises() -> None:
    with pytest.raises(ForbiddenClaim):
        check_cwt_keys({1: ISSUER, 169: {1: "4539148803436467"}, 2: "subject"})


def test_a_forbidden_key_inside_the_cwt_raises() -> None:
    with pytest.raises(ForbiddenClaim):
        check_cwt_keys({1: ISSUER, 169: {1: "4539148803436467", 13: "XX"}})


@pytest.mark.parametrize("change", [
    {"card_number": "4539148803436468"},
    {"card_number": "453914880343646"},
    {"language": "en"},
    {"full_name": "  "},
    {"issue_number": 0},
    {"gender": "unknown"},
])
def test_bad_card_data_is_refused(issue: IssueFn, claims: CardClaims,
                                  change: dict[str, Any]) -> None:
    with pytest.raises(InvalidCardClaims):
        issue(dataclasses.replace(claims, **change))


def test_naive_times_are_refused(claims: CardClaims, ed_key: SigningKey) -> None:
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(InvalidCardClaims):
        issue_credential(claims, key=ed_key, issuer=ISSUER, issued_at=naive, not_before=naive,
                         expires_at=naive + timedelta(days=1), status_index=1)


def test_a_retired_key_does_not_sign(issue: IssueFn, ed_key: SigningKey) -> None:
    with pytest.raises(SigningKeyUnusable):
        issue(key=dataclasses.replace(ed_key, retired=True))


def test_a_key_whose_alg_does_not_match_its_material_does_not_sign(
        issue: IssueFn, ed_key: SigningKey) -> None:
    with pytest.raises(SigningKeyUnusable):
        issue(key=dataclasses.replace(ed_key, alg="ES256"))


def test_private_keys_are_pkcs8_der(ed_key: SigningKey, es_key: SigningKey) -> None:
    for key in (ed_key, es_key):
        assert key.private is not None
        serialization.load_der_private_key(key.private, password=None)


def test_jwks_publishes_only_public_parts(ed_key: SigningKey, es_key: SigningKey,
                                          jwks: dict[str, Any]) -> None:
    okp, ec = jwks["keys"]
    assert okp == {"kty": "OKP", "crv": "Ed25519", "x": okp["x"], "kid": ed_key.kid,
                   "alg": "EdDSA", "use": "sig"}
    assert len(unb64url(okp["x"])) == 32
    assert ec == {"kty": "EC", "crv": "P-256", "x": ec["x"], "y": ec["y"], "kid": es_key.kid,
                  "alg": "ES256", "use": "sig"}
    assert len(unb64url(ec["x"])) == len(unb64url(ec["y"])) == 32


def test_kids_are_short_and_distinct(ed_key: SigningKey, es_key: SigningKey) -> None:
    assert ed_key.kid != es_key.kid
    assert len(ed_key.kid) <= 8
