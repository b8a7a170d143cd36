"""A key leaves the program only when two admins agree: one starts a ceremony, another
approves it within minutes, the first uses it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.factories import audit_trail
from tests.redemption.helpers import make_partner

Headers = dict[str, str]


@pytest.fixture
def clock() -> Clock:
    # Now, so the command line (on the system clock) sees the same minutes as the API.
    return FixedClock(datetime.now(UTC))


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


def test_the_keyring_is_exported_only_under_an_approved_ceremony(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli
    from privacy.keyring import Keyring

    first, second = auth_header("admin"), auth_header("admin")
    started = client.post("/v1/key-ceremonies", headers=first, json={"kind": "keyring_export"})
    assert started.status_code == 201, started.text
    ceremony_id = started.json()["id"]
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    out = tmp_path / "keyring-copy.json"
    try:
        early = CliRunner().invoke(cli.main, ["keys", "export", "--ceremony", ceremony_id,
                                              "--out", str(out)])
        assert client.post(f"/v1/key-ceremonies/{ceremony_id}/approve",
                           headers=second).status_code == 200
        done = CliRunner().invoke(cli.main, ["keys", "export", "--ceremony", ceremony_id,
                                             "--out", str(out)])
        again = CliRunner().invoke(cli.main, ["keys", "export", "--ceremony", ceremony_id,
                                              "--out", str(tmp_path / "second.json")])
    finally:
        get_settings.cache_clear()
    assert early.exit_code == 1 and "ceremony" in early.output
    assert done.exit_code == 0, done.output
    assert out.stat().st_mode & 0o077 == 0
    assert Keyring.from_json(out.read_text()).index_key == runtime.vault.keyring.index_key
    assert again.exit_code == 1 and "already used" in again.output
    exported = [e for e in audit_trail(runtime) if e.action == "keys.keyring_exported"]
    assert len(exported) == 1
