"""A key leaves the program only when two admins agree: one starts a ceremony, another
approves it within minutes, the first uses it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.factories import audit_trail
from tests.redemption.helpers import make_partner

Headers = dict[str, str]


@pytest.fixture
def clock() -> Clock:
    return FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def _start(client: TestClient, admin: Headers, partner_id: str) -> str:
    started = client.post("/v1/key-ceremonies", headers=admin,
                          json={"kind": "verifier_export", "partner_id": partner_id})
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def test_the_verifier_keys_leave_only_under_two_admins(
        client: TestClient, runtime: Runtime,
        auth_header: Callable[[str], Headers]) -> None:
    first, second, third = auth_header("admin"), auth_header("admin"), auth_header("admin")
    police, _ = make_partner(client, first, "police")
    path = f"/v1/partners/{police['id']}/verifier-keys"
    alone = client.post(path, headers=first)
    assert alone.status_code == 403 and alone.json()["code"] == "key_ceremony_not_approved"
    ceremony_id = _start(client, first, police["id"])
    own = client.post(f"/v1/key-ceremonies/{ceremony_id}/approve", headers=first)
    assert own.status_code == 403 and own.json()["code"] == "own_key_ceremony"
    unapproved = client.post(path, headers={**first, "Key-Ceremony": ceremony_id})
    assert unapproved.json()["code"] == "key_ceremony_not_approved"
    assert client.post(f"/v1/key-ceremonies/{ceremony_id}/approve",
                       headers=second).status_code == 200
    # Only its starter spends it, on the export it was made for, once.
    assert client.post(path, headers={**third, "Key-Ceremony": ceremony_id}
                       ).json()["code"] == "key_ceremony_not_approved"
    exported = client.post(path, headers={**first, "Key-Ceremony": ceremony_id})
    assert exported.status_code == 200 and exported.json()["keys"]
    again = client.post(path, headers={**first, "Key-Ceremony": ceremony_id})
    assert again.status_code == 409 and again.json()["code"] == "key_ceremony_used"
    actions = [e.action for e in audit_trail(runtime) if e.action.startswith("keys.")]
    assert actions == ["keys.ceremony_started", "keys.ceremony_approved",
                       "keys.verifier_exported", "keys.ceremony_used"]


def test_a_ceremony_must_be_approved_and_used_within_minutes(
        client: TestClient, clock: FixedClock, auth_header: Callable[[str], Headers]) -> None:
    first, second = auth_header("admin"), auth_header("admin")
    police, _ = make_partner(client, first, "police")
    late = _start(client, first, police["id"])
    clock.advance(timedelta(minutes=11))
    refused = client.post(f"/v1/key-ceremonies/{late}/approve", headers=second)
    assert refused.status_code == 409 and refused.json()["code"] == "key_ceremony_expired"
    stale = _start(client, first, police["id"])
    assert client.post(f"/v1/key-ceremonies/{stale}/approve", headers=second).status_code == 200
    clock.advance(timedelta(minutes=16))
    used_late = client.post(f"/v1/partners/{police['id']}/verifier-keys",
                            headers={**first, "Key-Ceremony": stale})
    assert used_late.status_code == 409 and used_late.json()["code"] == "key_ceremony_expired"


def test_a_ceremony_for_one_partner_does_not_export_to_another(
        client: TestClient, auth_header: Callable[[str], Headers],
        key_ceremony: Callable[[Headers, str], Headers]) -> None:
    admin = auth_header("admin")
    police, _ = make_partner(client, admin, "police")
    bank, _ = make_partner(client, admin, "bank")
    headers = key_ceremony(admin, police["id"])
    other = client.post(f"/v1/partners/{bank['id']}/verifier-keys", headers=headers)
    assert other.status_code == 403 and other.json()["code"] == "key_ceremony_not_approved"
