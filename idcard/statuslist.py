"""Revocation and suspension as a W3C Bitstring Status List, signed so it can be cached offline.

Each card holds a random index (see ``random_free_index``); bit ``i`` of the revocation list set
means card ``i`` is revoked, and likewise for suspension. Bits run from the most significant bit
of the first byte, as the W3C spec says. An ``encodedList`` is the multibase form the spec asks
for: ``u`` followed by base64url, without padding, of the GZIP-compressed bitstring.

The served document is one COSE_Sign1, signed with a card signing key (so the same JWKS checks it),
whose payload is the JSON of a ``BitstringStatusListCredential`` in the VC Data Model 2.0 shape,
secured as the W3C "Securing Verifiable Credentials using JOSE and COSE" spec describes
(``typ`` application/vc+cose, ``cty`` application/vc). Its ``credentialSubject`` holds two
``BitstringStatusList`` entries, one per purpose, so revocation and suspension cannot drift apart
in time. ``validFrom`` is when it was built and ``validUntil`` is ``validFrom`` plus the time to
live; each entry's ``ttl`` repeats it in milliseconds. A verifier holding a list past
``validUntil`` must treat it as stale.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import secrets
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cityid.errors import AppError, ErrorKind
from idcard.credential import (
    HEADER_CONTENT_TYPE,
    HEADER_TYP,
    CredentialError,
    Signer,
    read_cose_sign1,
    sign_cose,
    verify_cose,
)
from privacy.keyring import SigningKey

MIN_SIZE = 131_072  # the W3C minimum (16 KiB), so one card hides among many
MAX_SIZE = 1 << 24  # bounds what a verifier will inflate from a downloaded list
PURPOSES = ("revocation", "suspension")
TYP = "application/vc+cose"
CONTENT_TYPE = "application/vc"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MAX_INDEX_ATTEMPTS = 1000
MAX_DOCUMENT = 4 * 1024 * 1024


class StatusListError(AppError):
    kind = ErrorKind.INVALID
    code = "status_list_invalid"
    title = "The status list is not valid"


class StatusListSignatureInvalid(StatusListError):
    code = "status_list_bad_signature"
    title = "The status list is not signed by a published key"


class StatusListFull(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "status_list_full"
    title = "No free status-list index could be found; the list needs to grow"


def _check_size(size: int) -> None:
    if size < MIN_SIZE or size > MAX_SIZE or size % 8:
        raise StatusListError(f"a status list holds {MIN_SIZE}..{MAX_SIZE} entries, "
                              "a multiple of 8")


def random_free_index(taken: Callable[[int], bool], *, size: int = MIN_SIZE) -> int:
    """A random index nobody holds. Random, not sequential, so an index says nothing about
    when a card was issued or which cards were issued together."""
    _check_size(size)
    for _ in range(MAX_INDEX_ATTEMPTS):
        index = secrets.randbelow(size)
        if not taken(index):
            return index
    raise StatusListFull()


def bitstring(indexes: Iterable[int], size: int) -> bytes:
    _check_size(size)
    bits = bytearray(size // 8)
    for index in indexes:
        if not 0 <= index < size:
            raise StatusListError("a status index is outside the list")
        bits[index >> 3] |= 0x80 >> (index & 7)
    return bytes(bits)


def bit_is_set(bits: bytes, index: int) -> bool:
    return 0 <= index < len(bits) * 8 and bool(bits[index >> 3] & (0x80 >> (index & 7)))


def encode_list(bits: bytes) -> str:
    # mtime=0 so the same statuses give the same bytes, and an unchanged list keeps its ETag.
    compressed = gzip.compress(bits, compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: object, *, max_size: int = MAX_SIZE) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (a leading 'u')")
    body = encoded[1:]
    if "=" in body:
        raise StatusListError("encodedList must not be padded")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise StatusListError("encodedList is not base64url") from None
    limit = max_size // 8
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only
    try:
        bits = inflater.decompress(compressed, limit)
    except zlib.error:
        raise StatusListError("encodedList is not GZIP") from None
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise StatusListError("encodedList is truncated, padded or too large")
    _check_size(len(bits) * 8)
    return bits


@dataclass(frozen=True)
class StatusList:
    """A verified status list, as an offline verifier caches it."""

    issuer: str
    kid: str
    issued: datetime
    valid_until: datetime
    revoked: bytes
    suspended: bytes

    @property
    def size(self) -> int:
        return min(len(self.revoked), len(self.suspended)) * 8

    def covers(self, index: int) -> bool:
        return 0 <= index < self.size

    def is_revoked(self, index: int) -> bool:
        return bit_is_set(self.revoked, index)

    def is_suspended(self, index: int) -> bool:
        return bit_is_set(self.suspended, index)

    def is_fresh(self, now: datetime, *, max_age: timedelta | None = None,
                 clock_skew: timedelta = timedelta(0)) -> bool:
        """Inside its own time to live, not from the future, and not older than ``max_age``."""
        if self.issued > now + clock_skew:
            return False
        if now > self.valid_until + clock_skew:
            return False
        return max_age is None or now - self.issued <= max_age + clock_skew


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise StatusListError("status list times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise StatusListError("a status list time is missing")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StatusListError("a status list time is malformed") from None
    if moment.tzinfo is None:
        raise StatusListError("a status list time has no zone")
    return moment


def build_status_document(
    revoked: Iterable[int],
    suspended: Iterable[int],
    *,
    key: SigningKey,
    issuer: str,
    issued_at: datetime,
    ttl: timedelta,
    size: int = MIN_SIZE,
    list_url: str | None = None,
    signer: Signer | None = None,
) -> bytes:
    """The signed document served at ``/.well-known/cityid/status-list`` (application/vc+cose)."""
    if ttl <= timedelta(0):
        raise StatusListError("the time to live must be positive")
    lists = {"revocation": bitstring(revoked, size), "suspension": bitstring(suspended, size)}
    ttl_ms = int(ttl.total_seconds() * 1000)
    subjects: list[dict[str, Any]] = []
    for purpose in PURPOSES:
        subject: dict[str, Any] = {
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_list(lists[purpose]),
            "ttl": ttl_ms,
        }
        if list_url:
            subject["id"] = f"{list_url}#{purpose}"
        subjects.append(subject)
    document: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _iso(issued_at),
        "validUntil": _iso(issued_at + ttl),
        "credentialSubject": subjects,
    }
    if list_url:
        document["id"] = list_url
    payload = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return sign_cose(payload, key, headers={HEADER_TYP: TYP, HEADER_CONTENT_TYPE: CONTENT_TYPE},
                     signer=signer)


def parse_status_document(
    doc: bytes, jwks: Mapping[str, Any], *, max_size: int = MAX_SIZE
) -> StatusList:
    """Verify a served status document against the JWKS and decode both lists.

    Raises ``StatusListSignatureInvalid`` for an unknown key or a bad signature and
    ``StatusListError`` for anything malformed; it never returns an unverified list.
    """
    if not isinstance(doc, bytes) or len(doc) > MAX_DOCUMENT:
        raise StatusListError("the status document is not bytes of a sane size")
    try:
        message = read_cose_sign1(doc)
    except CredentialError:
        raise StatusListError("the status document is not a COSE_Sign1") from None
    if message.protected.get(HEADER_TYP) != TYP:
        # Without this a card credential, signed by the same key, could pass as a list.
        raise StatusListError("the status document is not typed application/vc+cose")
    try:
        kid = verify_cose(message, jwks)
    except CredentialError as exc:
        raise StatusListSignatureInvalid(f"status list refused: {exc.reason}") from None
    try:
        document = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError):
        raise StatusListError("the status document payload is not JSON") from None
    if not isinstance(document, dict):
        raise StatusListError("the status document payload is not an object")
    types = document.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        raise StatusListError("the document is not a BitstringStatusListCredential")
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise StatusListError("the status document names no issuer")
    subjects = document.get("credentialSubject")
    if not isinstance(subjects, list):
        raise StatusListError("credentialSubject must list the revocation and suspension lists")
    lists: dict[str, bytes] = {}
    for subject in subjects:
        if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
            raise StatusListError("a credentialSubject is not a BitstringStatusList")
        purpose = subject.get("statusPurpose")
        if purpose not in PURPOSES or purpose in lists:
            raise StatusListError("each of revocation and suspension must appear once")
        lists[purpose] = decode_list(subject.get("encodedList"), max_size=max_size)
    if set(lists) != set(PURPOSES):
        raise StatusListError("the status document lacks a revocation or suspension list")
    issued = _parse_iso(document.get("validFrom"))
    valid_until = _parse_iso(document.get("validUntil"))
    if valid_until <= issued:
        raise StatusListError("the status document expires before it starts")
    return StatusList(issuer=issuer, kid=kid, issued=issued, valid_until=valid_until,
                      revoked=lists["revocation"], suspended=lists["suspension"])
