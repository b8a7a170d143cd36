"""The offline verifier: one QR text in, one reason code out, and never an exception.

Checks run in a fixed order and the first failure is the answer: can the text be read at all,
is it a format we read, do we know the key, does the signature hold, is the card inside its
validity window, and what does the cached status list say. Fields are returned only once the
signature has verified, so nothing a forger wrote is ever shown.

A sealed credential (a COSE_Encrypt0 around the COSE_Sign1) is opened first with the verifier
keys the caller holds; without the key it names the answer is ``unknown_key``, and a ciphertext
that fails its AES-GCM tag answers ``bad_signature``. Plain signed credentials (every card issued
before sealing, and cards of a city that turned it off) verify as they always did.

The verifier accepts only what this program issues: a credential with any other CWT claim or
Claim 169 field (address 10, nationality 13, legal status 22, or any unknown key) is
``unsupported``, and so is a gender that is not one of Claim 169's integer codes.

The card's status-list index is the private CWT claim ``STATUS_INDEX_CLAIM`` inside the signed
payload, so it cannot be swapped without breaking the signature.

It fails closed. Without a status list, or with one past its ``validUntil``, older than the
caller's ``max_status_age``, from another issuer, or too short to hold the card's index, the
answer is ``status_list_stale``, never ``ok``. The one exception: a revoked bit in a stale list
still answers ``revoked``, because revocation is final and a newer list cannot undo it; a
suspension can be lifted, so a stale suspension answers ``status_list_stale``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from idcard.cose import (
    HEADER_TYP,
    CredentialError,
    Unreadable,
    Unsupported,
    loads_exact,
    verify_cose,
)
from idcard.credential import (
    ALLOWED_CLAIM169_KEYS,
    ALLOWED_CWT_KEYS,
    C169_DATE_OF_BIRTH,
    C169_FULL_NAME,
    C169_GENDER,
    C169_ID,
    C169_LANGUAGE,
    C169_VERSION,
    CLAIM_169,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_NBF,
    GENDER_NAMES,
    STATUS_INDEX_CLAIM,
    open_qr_text,
    parse_date_of_birth,
)
from idcard.statuslist import StatusList

DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


class Reason(StrEnum):
    OK = "ok"
    UNREADABLE = "unreadable"
    UNSUPPORTED = "unsupported"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    STATUS_LIST_STALE = "status_list_stale"


@dataclass(frozen=True)
class VerifiedFields:
    """What the signature vouches for. Never built from an unverified credential."""

    issuer: str
    kid: str
    card_number: str
    issue_number: int
    language: str
    full_name: str
    date_of_birth: date
    gender: str | None
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    status_index: int
    sealed_by: str | None = None  # the verifier key's kid; None for a plain signed credential


@dataclass(frozen=True)
class Verdict:
    reason: Reason
    fields: VerifiedFields | None = None

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK


def _text(identity: Mapping[Any, Any], key: int) -> str:
    value = identity.get(key)
    if not isinstance(value, str) or not value:
        raise Unreadable()
    return value


def _epoch(claims: Mapping[Any, Any], key: int) -> datetime:
    value = claims.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        # A card without a validity window cannot be checked, so it is not a card we read.
        raise Unsupported()
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise Unreadable() from None


def _gender(identity: Mapping[Any, Any]) -> str | None:
    code = identity.get(C169_GENDER)
    if code is None:
        return None
    # bool is an int in Python and 1.0 == 1: only a true integer of the set is a gender code.
    if type(code) is not int or code not in GENDER_NAMES:
        raise Unsupported()
    return GENDER_NAMES[code]


def _fields(claims: Any, kid: str, sealed_by: str | None) -> VerifiedFields:
    if not isinstance(claims, dict):
        raise Unreadable()
    identity = claims.get(CLAIM_169)
    if not isinstance(identity, dict):
        raise Unsupported()
    if not (claims.keys() <= ALLOWED_CWT_KEYS and identity.keys() <= ALLOWED_CLAIM169_KEYS):
        raise Unsupported()
    issuer = claims.get(CLAIM_ISS)
    if not isinstance(issuer, str) or not issuer:
        raise Unreadable()
    status_index = claims.get(STATUS_INDEX_CLAIM)
    if isinstance(status_index, bool) or not isinstance(status_index, int) or status_index < 0:
        raise Unsupported()  # no way to learn its status, so no way to say "ok"
    version = _text(identity, C169_VERSION)
    if not version.isascii() or not version.isdigit():
        raise Unreadable()
    return VerifiedFields(
        issuer=issuer,
        kid=kid,
        card_number=_text(identity, C169_ID),
        issue_number=int(version),
        language=_text(identity, C169_LANGUAGE),
        full_name=_text(identity, C169_FULL_NAME),
        date_of_birth=parse_date_of_birth(_text(identity, C169_DATE_OF_BIRTH)),
        gender=_gender(identity),
        issued_at=_epoch(claims, CLAIM_IAT),
        not_before=_epoch(claims, CLAIM_NBF),
        expires_at=_epoch(claims, CLAIM_EXP),
        status_index=status_index,
        sealed_by=sealed_by,
    )


def _status_reason(fields: VerifiedFields, status: StatusList | None, now: datetime,
                   max_status_age: timedelta | None, clock_skew: timedelta) -> Reason:
    if status is None or status.issuer != fields.issuer or not status.covers(fields.status_index):
        return Reason.STATUS_LIST_STALE
    if status.is_revoked(fields.status_index):
        return Reason.REVOKED
    if not status.is_fresh(now, max_age=max_status_age, clock_skew=clock_skew):
        return Reason.STATUS_LIST_STALE
    if status.is_suspended(fields.status_index):
        return Reason.SUSPENDED
    return Reason.OK


def _verify(qr_text: str, jwks: Mapping[str, Any], status: StatusList | None, now: datetime,
            max_status_age: timedelta | None, clock_skew: timedelta,
            verifier_keys: Mapping[str, bytes]) -> Verdict:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        message, sealed_by = open_qr_text(qr_text, verifier_keys)
        if HEADER_TYP in message.protected:
            # Card credentials carry no typ; a typed document (a status list) is not a card.
            raise Unsupported()
        kid = verify_cose(message, jwks)
    except CredentialError as exc:
        return Verdict(Reason(exc.reason))
    try:
        fields = _fields(loads_exact(message.payload), kid, sealed_by)
    except CredentialError as exc:
        return Verdict(Reason(exc.reason))
    if now + clock_skew < fields.not_before:
        return Verdict(Reason.NOT_YET_VALID, fields)
    if now - clock_skew >= fields.expires_at:
        return Verdict(Reason.EXPIRED, fields)
    return Verdict(_status_reason(fields, status, now, max_status_age, clock_skew), fields)


def verify_credential(
    qr_text: str,
    *,
    jwks: Mapping[str, Any],
    status: StatusList | None,
    now: datetime,
    max_status_age: timedelta | None = None,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    verifier_keys: Mapping[str, bytes] | None = None,
) -> Verdict:
    """Verify a scanned card offline.

    ``jwks`` is the published key set, ``status`` a list from ``parse_status_document`` (already
    signature-checked), ``max_status_age`` an optional limit stricter than the list's own time to
    live, ``clock_skew`` how far the verifier's clock may be off, and ``verifier_keys`` the QR
    verifier keys (kid to AES-256 key) that open sealed credentials.
    """
    try:
        return _verify(qr_text, jwks, status, now, max_status_age, clock_skew,
                       verifier_keys or {})
    except Exception:  # fail closed: whatever went wrong, this card is not accepted
        return Verdict(Reason.UNREADABLE)
