"""Keys, card data and a status list for the database-free card tests."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from idcard.credential import CardClaims, generate_signing_key, issue_credential, public_jwks
from idcard.statuslist import StatusList, build_status_document, parse_status_document
from privacy.keyring import SigningKey

ISSUER = "https://id.city.example"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STATUS_INDEX = 4242


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="session")
def ed_key() -> SigningKey:
    return generate_signing_key("EdDSA", now=NOW)


@pytest.fixture(scope="session")
def es_key() -> SigningKey:
    return generate_signing_key("ES256", now=NOW)


@pytest.fixture(scope="session")
def stranger_key() -> SigningKey:
    """A key nobody published: what a forger would sign with."""
    return generate_signing_key("EdDSA", now=NOW)


@pytest.fixture(scope="session")
def jwks(ed_key: SigningKey, es_key: SigningKey) -> dict[str, Any]:
    return public_jwks([ed_key, es_key])


@pytest.fixture
def claims() -> CardClaims:
    return CardClaims(card_number="4539148803436467", issue_number=2, language="eng",
                      full_name="Zoë Ñúñez", date_of_birth=date(1990, 1, 2), gender="female")


IssueFn = Callable[..., str]


@pytest.fixture
def issue(ed_key: SigningKey, claims: CardClaims) -> IssueFn:
    def make(claims: CardClaims = claims, key: SigningKey = ed_key, *,
             not_before: datetime = NOW - timedelta(days=1),
             expires_at: datetime = NOW + timedelta(days=365 * 4),
             status_index: int = STATUS_INDEX) -> str:
        return issue_credential(claims, key=key, issuer=ISSUER, issued_at=not_before,
                                not_before=not_before, expires_at=expires_at,
                                status_index=status_index)
    return make


StatusFn = Callable[..., StatusList]


@pytest.fixture
def status(ed_key: SigningKey, jwks: dict[str, Any]) -> StatusFn:
    def make(revoked: set[int] | None = None, suspended: set[int] | None = None, *,
             issued_at: datetime = NOW - timedelta(hours=1),
             ttl: timedelta = timedelta(hours=24), issuer: str = ISSUER) -> StatusList:
        doc = build_status_document(revoked or set(), suspended or set(), key=ed_key,
                                    issuer=issuer, issued_at=issued_at, ttl=ttl)
        return parse_status_document(doc, jwks)
    return make
