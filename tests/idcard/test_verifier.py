from __future__ import annotations

import dataclasses
import zlib
from datetime import timedelta
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idcard.credential import STATUS_INDEX_CLAIM, sign_cose
from idcard.statuslist import build_status_document
from idcard.verifier import Reason, verify_credential
from privacy.keyring import SigningKey
from tests.idcard.conftest import ISSUER, NOW, STATUS_INDEX, IssueFn, StatusFn

FIXTURES_IN_GIVEN = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
REFUSED_UNREAD = {Reason.UNREADABLE, Reason.UNSUPPORTED, Reason.UNKNOWN_KEY,
                  Reason.BAD_SIGNATURE}


def b45(raw: bytes) -> str:
    text: str = base45.b45encode(raw).decode()
    return text


def unwrap(qr_text: str) -> bytes:
    raw: bytes = zlib.decompress(base45.b45decode(qr_text))
    return raw


def rewrap(cose: bytes) -> str:
    return b45(zlib.compress(cose))


def carries_the_same_signed_bytes(changed: str, original: str) -> bool:
    """Deflate has slack: a few changes to the compressed stream still inflate to the very
    same signed bytes, and that credential is genuine."""
    try:
        return unwrap(changed) == unwrap(original)
    except (ValueError, zlib.error):
        return False


def test_a_good_card_is_ok_with_its_fields(issue: IssueFn, jwks: dict[str, Any],
                                           status: StatusFn, ed_key: SigningKey) -> None:
    verdict = verify_credential(issue(), jwks=jwks, status=status(), now=NOW)
    assert verdict.reason is Reason.OK
    assert verdict.ok
    fields = verdict.fields
    assert fields is not None
    assert (fields.card_number, fields.issue_number, fields.full_name) == (
        "4539148803436467", 2, "Zoë Ñúñez")
    assert fields.date_of_birth.isoformat() == "1990-01-02"
    assert fields.gender == "female"
    assert fields.kid == ed_key.kid
    assert fields.status_index == STATUS_INDEX


def test_an_es256_card_is_ok(issue: IssueFn, es_key: SigningKey, jwks: dict[str, Any],
                             status: StatusFn) -> None:
    assert verify_credential(issue(key=es_key), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.OK


def test_without_a_status_list_the_answer_is_stale(issue: IssueFn, jwks: dict[str, Any]) -> None:
    assert verify_credential(issue(), jwks=jwks, status=None,
                             now=NOW).reason is Reason.STATUS_LIST_STALE


def test_a_list_past_its_ttl_is_stale(issue: IssueFn, jwks: dict[str, Any],
                                      status: StatusFn) -> None:
    old = status(issued_at=NOW - timedelta(days=2), ttl=timedelta(hours=24))
    assert verify_credential(issue(), jwks=jwks, status=old,
                             now=NOW).reason is Reason.STATUS_LIST_STALE


def test_a_list_older_than_max_status_age_is_stale(issue: IssueFn, jwks: dict[str, Any],
                                                   status: StatusFn) -> None:
    listed = status(issued_at=NOW - timedelta(hours=3))
    verdict = verify_credential(issue(), jwks=jwks, status=listed, now=NOW,
                                max_status_age=timedelta(hours=1))
    assert verdict.reason is Reason.STATUS_LIST_STALE


def test_a_list_from_another_issuer_is_stale(issue: IssueFn, jwks: dict[str, Any],
                                             status: StatusFn) -> None:
    other = status(issuer="https://id.elsewhere.example")
    assert verify_credential(issue(), jwks=jwks, status=other,
                             now=NOW).reason is Reason.STATUS_LIST_STALE


def test_a_revoked_card_is_revoked(issue: IssueFn, jwks: dict[str, Any],
                                   status: StatusFn) -> None:
    verdict = verify_credential(issue(), jwks=jwks, status=status(revoked={STATUS_INDEX}),
                                now=NOW)
    assert verdict.reason is Reason.REVOKED
    assert verdict.fields is not None  # whose card it is, for the person at the counter


def test_a_suspended_card_is_suspended(issue: IssueFn, jwks: dict[str, Any],
                                       status: StatusFn) -> None:
    assert verify_credential(issue(), jwks=jwks, status=status(suspended={STATUS_INDEX}),
                             now=NOW).reason is Reason.SUSPENDED


def test_a_neighbour_being_revoked_does_not_touch_this_card(
        issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    listed = status(revoked={STATUS_INDEX - 1, STATUS_INDEX + 1})
    assert verify_credential(issue(), jwks=jwks, status=listed, now=NOW).reason is Reason.OK


def test_revocation_in_a_stale_list_still_counts(issue: IssueFn, jwks: dict[str, Any],
                                                 status: StatusFn) -> None:
    old = status(revoked={STATUS_INDEX}, issued_at=NOW - timedelta(days=3))
    assert verify_credential(issue(), jwks=jwks, status=old, now=NOW).reason is Reason.REVOKED


def test_suspension_in_a_stale_list_is_stale(issue: IssueFn, jwks: dict[str, Any],
                                             status: StatusFn) -> None:
    old = status(suspended={STATUS_INDEX}, issued_at=NOW - timedelta(days=3))
    assert verify_credential(issue(), jwks=jwks, status=old,
                             now=NOW).reason is Reason.STATUS_LIST_STALE


def test_an_expired_card_is_expired(issue: IssueFn, jwks: dict[str, Any],
                                    status: StatusFn) -> None:
    qr = issue(not_before=NOW - timedelta(days=400), expires_at=NOW - timedelta(hours=1))
    assert verify_credential(qr, jwks=jwks, status=status(), now=NOW).reason is Reason.EXPIRED


def test_expiry_allows_for_clock_skew_and_no_more(issue: IssueFn, jwks: dict[str, Any],
                                                  status: StatusFn) -> None:
    qr = issue(not_before=NOW - timedelta(days=400), expires_at=NOW - timedelta(minutes=4))
    assert verify_credential(qr, jwks=jwks, status=status(), now=NOW).reason is Reason.OK
    assert verify_credential(qr, jwks=jwks, status=status(), now=NOW,
                             clock_skew=timedelta(0)).reason is Reason.EXPIRED


def test_a_card_before_its_start_is_not_yet_valid(issue: IssueFn, jwks: dict[str, Any],
                                                  status: StatusFn) -> None:
    qr = issue(not_before=NOW + timedelta(days=1))
    assert verify_credential(qr, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.NOT_YET_VALID


def test_an_unpublished_kid_is_unknown_key(issue: IssueFn, stranger_key: SigningKey,
                                           jwks: dict[str, Any], status: StatusFn) -> None:
    verdict = verify_credential(issue(key=stranger_key), jwks=jwks, status=status(), now=NOW)
    assert verdict.reason is Reason.UNKNOWN_KEY
    assert verdict.fields is None


def test_a_wrong_kid_is_a_bad_signature(issue: IssueFn, ed_key: SigningKey,
                                        es_key: SigningKey, jwks: dict[str, Any],
                                        status: StatusFn) -> None:
    other = dataclasses.replace(ed_key, kid=es_key.kid)  # our key, labelled as the ES256 key
    assert verify_credential(issue(key=other), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.BAD_SIGNATURE


def test_a_payload_re_signed_with_another_key_is_a_bad_signature(
        issue: IssueFn, ed_key: SigningKey, stranger_key: SigningKey, jwks: dict[str, Any],
        status: StatusFn) -> None:
    payload = cbor2.loads(unwrap(issue())).value[2]
    forged = dataclasses.replace(stranger_key, kid=ed_key.kid)
    verdict = verify_credential(rewrap(sign_cose(payload, forged)), jwks=jwks, status=status(),
                                now=NOW)
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert verdict.fields is None


def test_a_zlib_bomb_is_unreadable(jwks: dict[str, Any], status: StatusFn) -> None:
    bomb = b45(zlib.compress(bytes(65 * 1024), 9))
    assert verify_credential(bomb, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNREADABLE


def test_a_credential_padded_past_64_kb_is_unreadable(issue: IssueFn, jwks: dict[str, Any],
                                                      status: StatusFn) -> None:
    padded = b45(zlib.compress(unwrap(issue()) + bytes(64 * 1024), 9))
    assert verify_credential(padded, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNREADABLE


def test_an_encrypt0_under_another_algorithm_is_unsupported(jwks: dict[str, Any],
                                                            status: StatusFn) -> None:
    # A128GCM (1): Claim 169 allows it, this program seals with A256GCM only.
    encrypt0 = cbor2.dumps(cbor2.CBORTag(16, [b"\xa1\x01\x01", {5: b"\x00" * 12},
                                             b"ciphertext"]))
    assert verify_credential(rewrap(encrypt0), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_an_encrypt0_without_an_iv_is_unreadable(jwks: dict[str, Any], status: StatusFn) -> None:
    encrypt0 = cbor2.dumps(cbor2.CBORTag(16, [b"\xa1\x01\x03", {}, b"ciphertext"]))
    assert verify_credential(rewrap(encrypt0), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNREADABLE


def test_an_unknown_algorithm_is_unsupported(issue: IssueFn, jwks: dict[str, Any],
                                             status: StatusFn) -> None:
    message = cbor2.loads(unwrap(issue()))
    protected = cbor2.loads(message.value[0])
    protected[1] = -35  # ES384
    message.value[0] = cbor2.dumps(protected)
    assert verify_credential(rewrap(cbor2.dumps(message)), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_brotli_or_other_compression_is_unsupported(issue: IssueFn, jwks: dict[str, Any],
                                                    status: StatusFn) -> None:
    assert verify_credential(b45(unwrap(issue())), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_a_status_list_document_is_not_a_card(ed_key: SigningKey, jwks: dict[str, Any],
                                              status: StatusFn) -> None:
    doc = build_status_document(set(), set(), key=ed_key, issuer=ISSUER, issued_at=NOW,
                                ttl=timedelta(hours=1))
    assert verify_credential(rewrap(doc), jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNSUPPORTED


def test_a_signed_card_without_a_status_index_is_unsupported(
        issue: IssueFn, ed_key: SigningKey, jwks: dict[str, Any], status: StatusFn) -> None:
    cwt = cbor2.loads(cbor2.loads(unwrap(issue())).value[2])
    del cwt[STATUS_INDEX_CLAIM]
    qr = rewrap(sign_cose(cbor2.dumps(cwt), ed_key))
    assert verify_credential(qr, jwks=jwks, status=status(), now=NOW).reason is Reason.UNSUPPORTED


@pytest.mark.parametrize("text", ["", " ", "hello", "HC1:", "A" * 10_000, "::::"])
def test_junk_is_unreadable(text: str, jwks: dict[str, Any], status: StatusFn) -> None:
    assert verify_credential(text, jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNREADABLE


def test_a_non_string_is_unreadable(jwks: dict[str, Any]) -> None:
    verdict = verify_credential(None, jwks=jwks, status=None, now=NOW)  # type: ignore[arg-type]
    assert verdict.reason is Reason.UNREADABLE


def test_a_broken_jwks_is_never_ok(issue: IssueFn, status: StatusFn) -> None:
    for broken in ({}, {"keys": "nope"}, {"keys": [None, 3]}):
        assert verify_credential(issue(), jwks=broken, status=status(),
                                 now=NOW).reason is Reason.UNKNOWN_KEY


def test_a_published_key_with_damaged_material_is_a_bad_signature(
        issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    damaged = {"keys": [{**jwks["keys"][0], "x": "AAAA"}]}
    assert verify_credential(issue(), jwks=damaged, status=status(),
                             now=NOW).reason is Reason.BAD_SIGNATURE


@FIXTURES_IN_GIVEN
@given(data=st.data())
def test_any_bit_flip_in_the_signed_bytes_is_refused(
        data: st.DataObject, issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    cose = bytearray(unwrap(issue()))
    bit = data.draw(st.integers(0, len(cose) * 8 - 1))
    cose[bit // 8] ^= 1 << (bit % 8)
    verdict = verify_credential(rewrap(bytes(cose)), jwks=jwks, status=status(), now=NOW)
    assert verdict.reason in REFUSED_UNREAD
    assert verdict.fields is None


@FIXTURES_IN_GIVEN
@given(data=st.data())
def test_any_bit_flip_in_the_compressed_bytes_is_refused(
        data: st.DataObject, issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    qr = issue()
    compressed = bytearray(base45.b45decode(qr))
    bit = data.draw(st.integers(0, len(compressed) * 8 - 1))
    compressed[bit // 8] ^= 1 << (bit % 8)
    changed = b45(bytes(compressed))
    verdict = verify_credential(changed, jwks=jwks, status=status(), now=NOW)
    if carries_the_same_signed_bytes(changed, qr):
        assert verdict.reason is Reason.OK
    else:
        assert verdict.reason in REFUSED_UNREAD


@FIXTURES_IN_GIVEN
@given(data=st.data())
def test_any_truncation_is_unreadable(data: st.DataObject, issue: IssueFn,
                                      jwks: dict[str, Any], status: StatusFn) -> None:
    qr = issue()
    cut = data.draw(st.integers(0, len(qr) - 1))
    assert verify_credential(qr[:cut], jwks=jwks, status=status(),
                             now=NOW).reason is Reason.UNREADABLE


@FIXTURES_IN_GIVEN
@given(data=st.data())
def test_any_changed_qr_character_is_refused(data: st.DataObject, issue: IssueFn,
                                             jwks: dict[str, Any], status: StatusFn) -> None:
    qr = issue()
    position = data.draw(st.integers(0, len(qr) - 1))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    replacement = data.draw(st.sampled_from(alphabet.replace(qr[position], "")))
    changed = qr[:position] + replacement + qr[position + 1:]
    verdict = verify_credential(changed, jwks=jwks, status=status(), now=NOW)
    if carries_the_same_signed_bytes(changed, qr):
        assert verdict.reason is Reason.OK
    else:
        assert verdict.reason in REFUSED_UNREAD


@FIXTURES_IN_GIVEN
@given(text=st.text(max_size=400))
def test_arbitrary_text_never_raises_and_is_never_ok(
        text: str, jwks: dict[str, Any], status: StatusFn) -> None:
    assert verify_credential(text, jwks=jwks, status=status(), now=NOW).reason in REFUSED_UNREAD


@FIXTURES_IN_GIVEN
@given(raw=st.binary(max_size=400))
def test_arbitrary_compressed_cbor_never_raises_and_is_never_ok(
        raw: bytes, jwks: dict[str, Any], status: StatusFn) -> None:
    verdict = verify_credential(rewrap(raw), jwks=jwks, status=status(), now=NOW)
    assert verdict.reason in REFUSED_UNREAD


BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"  # RFC 9285 table 1


def test_a_card_written_in_non_canonical_base45_is_unreadable(
        issue: IssueFn, jwks: dict[str, Any], status: StatusFn) -> None:
    """RFC 9285 says a triplet worth more than 65535 must be refused. A decoder that lets the
    value wrap around 16 bits reads the aliased text as the same signed bytes, so one card could
    be written many ways; the verifier refuses it instead."""
    genuine = issue()
    for start in range(0, len(genuine) - 2, 3):
        c, d, e = (BASE45_ALPHABET.index(ch) for ch in genuine[start:start + 3])
        value = c + d * 45 + e * 45 * 45
        if value + 65536 < 45 ** 3:
            break
    else:
        raise AssertionError("no triplet of this card can be aliased; pick another card")
    alias = value + 65536
    aliased = (genuine[:start] + BASE45_ALPHABET[alias % 45] + BASE45_ALPHABET[alias // 45 % 45]
               + BASE45_ALPHABET[alias // 2025] + genuine[start + 3:])
    verdict = verify_credential(aliased, jwks=jwks, status=status(), now=NOW)
    assert verdict.reason is Reason.UNREADABLE
    assert verdict.fields is None
