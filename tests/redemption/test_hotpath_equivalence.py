"""The lean verification route (api/lean.py) and the normal route give the same answers and
write the same audit entries, for every reason code and every partner type.

Two apps share one runtime and database: one with the lean route, one with it off. On SQLite
the lean route is off in both (it serves PostgreSQL only), so this checks the normal route
against itself there; on PostgreSQL it also checks the lean route answered what it takes."""

from __future__ import annotations

import dataclasses
import zlib
from datetime import datetime, timedelta
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.lean import lean_of
from api.runtime import Runtime
from idcard.cose import generate_signing_key
from idcard.credential import CardClaims, issue_credential, sign_cose
from tests.conftest import BACKEND
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_cardholder, make_partner

PARTNER_TYPES = ("cultural", "library", "benefit", "bank", "credit_union", "police")
LEAN_TYPES = {"cultural", "library", "benefit"}


def _qr(runtime: Runtime, *, key: Any = None, now: datetime | None = None,
        not_before: timedelta = timedelta(days=-1), expires: timedelta = timedelta(days=300),
        number: str = "4539148803436467") -> str:
    """A plain signed credential of our own making, for the signature and time reasons."""
    now = now or runtime.clock.now()
    signing = key or runtime.vault.active_signing_key()
    assert signing is not None
    claims = CardClaims(card_number=number, issue_number=1, language="eng",
                        full_name="Test Holder", date_of_birth=datetime(1990, 1, 2).date(),
                        gender=None)
    # The installation's own key signs where it lives (in a token, under
    # CITYID_TEST_KEY_PROVIDER=pkcs11); a stranger's key given here signs with its material.
    return issue_credential(claims, key=signing, issuer=runtime.settings.issuer,
                            issued_at=now, not_before=now + not_before,
                            expires_at=now + expires, status_index=7,
                            signer=runtime.vault.sign if key is None else None)


def _re_signed(runtime: Runtime, qr: str) -> str:
    ours = runtime.vault.active_signing_key()
    assert ours is not None
    payload = cbor2.loads(zlib.decompress(base45.b45decode(qr))).value[2]
    stranger = generate_signing_key("EdDSA", now=runtime.clock.now())
    forged = dataclasses.replace(stranger, kid=ours.kid)
    return str(base45.b45encode(zlib.compress(sign_cose(payload, forged))).decode())


def _set_card(runtime: Runtime, card_id: str, assignment: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(f"UPDATE cards SET {assignment} WHERE id = :id"),
                     {"id": card_id if BACKEND == "postgresql" else card_id.replace("-", "")})


def _cases(runtime: Runtime) -> list[tuple[str, str]]:
    """(intended reason, QR) for every reason a QR verification can give online."""
    live = make_cardholder(runtime, "Ottoline")
    suspended = make_cardholder(runtime, "Perpetua")
    _set_card(runtime, suspended["id"], "status = 'suspended'")
    revoked = make_cardholder(runtime, "Quentin")
    _set_card(runtime, revoked["id"], "status = 'revoked'")
    expired = make_cardholder(runtime, "Rosalind")
    _set_card(runtime, expired["id"], "expires_on = :yesterday".replace(
        ":yesterday", f"'{(runtime.clock.today() - timedelta(days=1)).isoformat()}'"))
    gone = make_cardholder(runtime, "Sebastian")
    _set_card(runtime, gone["id"], "issue_number = 77")  # signed by us, no longer on record
    stranger = generate_signing_key("EdDSA", now=runtime.clock.now())
    return [
        ("ok", live["qr"]),
        ("suspended", suspended["qr"]),
        ("revoked", revoked["qr"]),
        ("expired", expired["qr"]),
        ("revoked", gone["qr"]),
        ("unreadable", "this is not a card"),
        # Not deflated: another compression, which this program does not take.
        ("unsupported", str(base45.b45encode(zlib.decompress(base45.b45decode(live["qr"])))
                            .decode())),
        ("unknown_key", _qr(runtime, key=stranger)),
        ("bad_signature", _re_signed(runtime, live["qr"])),
        ("not_yet_valid", _qr(runtime, not_before=timedelta(days=3))),
        ("expired", _qr(runtime, not_before=timedelta(days=-30), expires=timedelta(days=-3))),
    ]


def _comparable(entry: Any) -> tuple[Any, ...]:
    return (entry.actor, entry.role, entry.action, entry.subject, entry.purpose, entry.detail)


def _body(partner_type: str, qr: str) -> dict[str, Any]:
    body: dict[str, Any] = {"qr": qr}
    if partner_type == "police":
        body.update(purpose="identity_check", incident_reference="INC-2026-0042")
    return body


def test_lean_and_normal_routes_answer_and_audit_alike(
        client: TestClient, normal_client: TestClient, app: FastAPI, admin: Headers,
        runtime: Runtime) -> None:
    cases = _cases(runtime)
    keys = {t: make_partner(client, admin, t, name=f"Equivalence {t}")[1] for t in PARTNER_TYPES}
    seen: set[str] = set()
    for partner_type in PARTNER_TYPES:
        for intended, qr in cases:
            answers, entries = [], []
            for which in (client, normal_client):
                before = len(audit_trail(runtime))
                response = which.post("/v1/verify", headers=keys[partner_type],
                                      json=_body(partner_type, qr))
                trail = audit_trail(runtime)
                assert len(trail) == before + 1, (partner_type, intended)
                answers.append((response.status_code, response.json(),
                                response.headers.get("cache-control")))
                entries.append(_comparable(trail[-1]))
            assert answers[0] == answers[1], (partner_type, intended)
            assert entries[0] == entries[1], (partner_type, intended)
            assert answers[0][0] == 200 and answers[0][2] == "no-store"
            assert answers[0][1]["reason"] == intended, (partner_type, intended, answers[0])
            seen.add(intended)
    assert seen == {"ok", "suspended", "revoked", "expired", "unreadable", "unsupported",
                    "unknown_key", "bad_signature", "not_yet_valid"}
    # Every entry, lean or not, carries a MAC the chain check accepts.
    with runtime.sessions() as session:
        from privacy.audit import verify_chain
        assert verify_chain(session).ok
    lean = lean_of(app)
    assert lean is not None
    expected = len(cases) * len(LEAN_TYPES) if BACKEND == "postgresql" else 0
    assert lean.answered == expected
