from __future__ import annotations

import base64
import gzip
import json
import zlib
from datetime import timedelta
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idcard.statuslist import (
    MIN_SIZE,
    StatusListError,
    StatusListFull,
    StatusListSignatureInvalid,
    bitstring,
    build_status_document,
    decode_list,
    encode_list,
    parse_status_document,
    random_free_index,
)
from privacy.keyring import SigningKey
from tests.idcard.conftest import ISSUER, NOW, IssueFn


def document(key: SigningKey, revoked: set[int] | None = None,
             suspended: set[int] | None = None, **overrides: Any) -> bytes:
    options: dict[str, Any] = {"key": key, "issuer": ISSUER, "issued_at": NOW,
                               "ttl": timedelta(hours=6), **overrides}
    return build_status_document(revoked or set(), suspended or set(), **options)


def test_the_list_has_at_least_131072_entries() -> None:
    assert MIN_SIZE >= 131_072
    assert len(bitstring([], MIN_SIZE)) * 8 == MIN_SIZE


def test_smaller_lists_are_refused() -> None:
    with pytest.raises(StatusListError):
        bitstring([], 65_536)


def test_encoded_list_is_multibase_base64url_of_gzip() -> None:
    encoded = encode_list(bitstring({3}, MIN_SIZE))
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    compressed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert compressed[:2] == b"\x1f\x8b"
    assert gzip.decompress(compressed)[0] == 0b0001_0000


def test_index_zero_is_the_leftmost_bit() -> None:
    bits = bitstring({0, 9}, MIN_SIZE)
    assert bits[0] == 0x80
    assert bits[1] == 0x40


@given(st.sets(st.integers(0, MIN_SIZE - 1), max_size=200))
def test_encode_then_decode_gives_back_the_same_bits(indexes: set[int]) -> None:
    bits = bitstring(indexes, MIN_SIZE)
    assert decode_list(encode_list(bits)) == bits


def test_an_index_outside_the_list_is_refused() -> None:
    with pytest.raises(StatusListError):
        bitstring({MIN_SIZE}, MIN_SIZE)


def test_a_gzip_bomb_in_the_list_is_refused() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(StatusListError):
        decode_list(encoded)


def test_a_list_without_the_multibase_prefix_is_refused() -> None:
    with pytest.raises(StatusListError):
        decode_list(encode_list(bitstring([], MIN_SIZE))[1:])


def test_random_free_index_stays_in_range_and_skips_taken() -> None:
    taken: set[int] = set()
    for _ in range(200):
        index = random_free_index(lambda i: i in taken)
        assert 0 <= index < MIN_SIZE
        assert index not in taken
        taken.add(index)


def test_random_free_indexes_are_spread_out() -> None:
    indexes = [random_free_index(lambda _: False) for _ in range(50)]
    assert len(set(indexes)) >= 45
    assert max(indexes) - min(indexes) > MIN_SIZE // 4


def test_a_full_list_raises() -> None:
    with pytest.raises(StatusListFull):
        random_free_index(lambda _: True)


def test_document_round_trip(ed_key: SigningKey, jwks: dict[str, Any]) -> None:
    parsed = parse_status_document(document(ed_key, {1, 77}, {5}), jwks)
    assert parsed.issuer == ISSUER
    assert parsed.kid == ed_key.kid
    assert parsed.issued == NOW
    assert parsed.valid_until == NOW + timedelta(hours=6)
    assert parsed.size == MIN_SIZE
    assert parsed.is_revoked(77) and parsed.is_revoked(1) and not parsed.is_revoked(5)
    assert parsed.is_suspended(5) and not parsed.is_suspended(77)


def test_an_es256_signed_document_verifies(es_key: SigningKey, jwks: dict[str, Any]) -> None:
    assert parse_status_document(document(es_key, {9}), jwks).is_revoked(9)


def test_document_is_a_typed_vc_with_validity_and_ttl(ed_key: SigningKey) -> None:
    message = cbor2.loads(document(ed_key, list_url="https://id.city.example/status"))
    protected, _, payload, _ = message.value
    assert message.tag == 18
    assert cbor2.loads(protected) == {1: -8, 4: ed_key.kid.encode(), 16: "application/vc+cose",
                                      3: "application/vc"}
    vc = json.loads(payload)
    assert "BitstringStatusListCredential" in vc["type"]
    assert vc["validFrom"] == "2026-03-01T12:00:00Z"
    assert vc["validUntil"] == "2026-03-01T18:00:00Z"
    assert [s["statusPurpose"] for s in vc["credentialSubject"]] == ["revocation", "suspension"]
    assert {s["ttl"] for s in vc["credentialSubject"]} == {6 * 3600 * 1000}
    assert vc["credentialSubject"][0]["id"] == "https://id.city.example/status#revocation"


def test_a_tampered_signature_raises(ed_key: SigningKey, jwks: dict[str, Any]) -> None:
    message = cbor2.loads(document(ed_key))
    signature = bytearray(message.value[3])
    signature[0] ^= 1
    message.value[3] = bytes(signature)
    with pytest.raises(StatusListSignatureInvalid):
        parse_status_document(cbor2.dumps(message), jwks)


def test_a_tampered_list_raises(ed_key: SigningKey, jwks: dict[str, Any]) -> None:
    message = cbor2.loads(document(ed_key, {1}))
    vc = json.loads(message.value[2])
    vc["credentialSubject"][0]["encodedList"] = encode_list(bitstring([], MIN_SIZE))
    message.value[2] = json.dumps(vc).encode()
    with pytest.raises(StatusListSignatureInvalid):
        parse_status_document(cbor2.dumps(message), jwks)


def test_a_document_from_an_unpublished_key_raises(stranger_key: SigningKey,
                                                   jwks: dict[str, Any]) -> None:
    with pytest.raises(StatusListSignatureInvalid):
        parse_status_document(document(stranger_key), jwks)


def test_a_card_credential_is_not_a_status_list(issue: IssueFn, jwks: dict[str, Any]) -> None:
    raw = zlib.decompress(base45.b45decode(issue()))
    with pytest.raises(StatusListError):
        parse_status_document(raw, jwks)


def test_garbage_is_refused(jwks: dict[str, Any]) -> None:
    with pytest.raises(StatusListError):
        parse_status_document(b"\x00\x01garbage", jwks)


def test_freshness_follows_valid_until_and_max_age(ed_key: SigningKey,
                                                   jwks: dict[str, Any]) -> None:
    parsed = parse_status_document(document(ed_key), jwks)
    assert parsed.is_fresh(NOW + timedelta(hours=5))
    assert not parsed.is_fresh(NOW + timedelta(hours=6, seconds=1))
    assert not parsed.is_fresh(NOW + timedelta(hours=2), max_age=timedelta(hours=1))
    assert not parsed.is_fresh(NOW - timedelta(hours=1))  # a list from the future
