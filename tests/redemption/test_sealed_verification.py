"""Sealed QRs through the real API and database: the server opens them and discloses only what
each policy allows, cards issued before sealing keep verifying, a city can turn sealing off, and
the verifier key goes only to entitled offline verifiers, through an audited admin export."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import claim169  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_cardholder, make_partner

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def public_key(client: TestClient) -> bytes:
    x = client.get("/.well-known/cityid/jwks.json").json()["keys"][0]["x"]
    return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))


def sealing(runtime: Runtime, on: bool) -> None:
    runtime.settings = runtime.settings.model_copy(update={"qr_sealed": on})


def test_the_server_opens_a_sealed_qr_and_a_museum_still_sees_only_its_attributes(
        client: TestClient, admin: Headers, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    assert claim169.inspect(holder["qr"]).cose_type == "Encrypt0"
    _, museum = make_partner(client, admin, "cultural")
    _, bank = make_partner(client, admin, "bank")
    seen = client.post("/v1/verify", headers=museum, json={"qr": holder["qr"]}).json()
    assert (seen["result"], seen["reason"]) == ("valid", "ok")
    assert set(seen["disclosed"]) == {"validity", "expires_on", "holder_token"}
    kyc = client.post("/v1/verify", headers=bank, json={"qr": holder["qr"]}).json()
    assert kyc["disclosed"]["card_number"] == holder["card_number"]


def test_a_card_issued_before_sealing_keeps_verifying_online(
        client: TestClient, admin: Headers, runtime: Runtime) -> None:
    sealing(runtime, False)
    plain = make_cardholder(runtime, first_name="Plain")
    sealing(runtime, True)
    sealed = make_cardholder(runtime, first_name="Sealed")
    assert claim169.inspect(plain["qr"]).cose_type == "Sign1"
    assert claim169.inspect(sealed["qr"]).cose_type == "Encrypt0"
    _, key = make_partner(client, admin, "library")
    for holder in (plain, sealed):
        answer = client.post("/v1/verify", headers=key, json={"qr": holder["qr"]}).json()
        assert (answer["result"], answer["reason"]) == ("valid", "ok")


def test_a_city_that_turns_sealing_off_issues_qrs_any_claim169_reader_verifies(
        client: TestClient, runtime: Runtime) -> None:
    sealing(runtime, False)
    holder = make_cardholder(runtime)
    decoded = claim169.decode_with_ed25519(holder["qr"], public_key(client),
                                           validate_timestamps=False)
    assert decoded.is_verified() and decoded.claim169.id == holder["card_number"]


def test_an_oversized_qr_is_unreadable_online_not_a_validation_error(
        client: TestClient, admin: Headers) -> None:
    _, key = make_partner(client, admin, "cultural")
    response = client.post("/v1/verify", headers=key, json={"qr": "A" * 5000})
    assert response.status_code == 200, response.text
    assert (response.json()["result"], response.json()["reason"]) == ("invalid", "unreadable")


def test_only_an_admin_exports_verifier_keys_and_only_for_an_entitled_partner(
        client: TestClient, admin: Headers, runtime: Runtime,
        auth_header: Callable[[str], Headers],
        key_ceremony: Callable[[Headers, str], Headers]) -> None:
    holder = make_cardholder(runtime)
    police, police_key = make_partner(client, admin, "police")
    museum, _ = make_partner(client, admin, "cultural")
    path = f"/v1/partners/{police['id']}/verifier-keys"
    for headers in (auth_header("clerk"), auth_header("supervisor"), auth_header("auditor"),
                    police_key, {}):
        assert client.post(path, headers=headers).status_code in (401, 403)
    refused = client.post(f"/v1/partners/{museum['id']}/verifier-keys", headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "not_an_offline_verifier"
    exported = client.post(path, headers=key_ceremony(admin, police["id"]))
    assert exported.status_code == 200 and exported.headers["cache-control"] == "no-store"
    secret = exported.json()["keys"][0]["k"]
    decoded = claim169.decode_encrypted_aes256(
        holder["qr"], base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)),
        allow_unverified=True)
    assert decoded.claim169.id == holder["card_number"]
    entries = [e for e in audit_trail(runtime) if e.action == "keys.verifier_exported"]
    assert len(entries) == 1 and entries[0].subject == f"partner:{police['id']}"
    assert secret not in repr(entries[0].detail)


def _approved_just_now(runtime: Runtime, ceremony_id: str) -> None:
    import uuid
    from datetime import UTC, datetime

    from cityid.db import unit_of_work
    from staff.models import KeyCeremony

    with unit_of_work(runtime.sessions) as session:
        found = session.get(KeyCeremony, uuid.UUID(ceremony_id))
        assert found is not None
        found.approved_at = datetime.now(UTC)


def test_after_rotation_the_export_carries_the_old_key_while_its_cards_are_valid(
        client: TestClient, admin: Headers, runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any, key_ceremony: Callable[[Headers, str], Headers]) -> None:
    from cityid.settings import get_settings
    from entry import cli

    old = make_cardholder(runtime, first_name="Before")
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    bank, _ = make_partner(client, admin, "bank")
    ceremony_id = key_ceremony(admin, bank["id"])["Key-Ceremony"]
    _approved_just_now(runtime, ceremony_id)  # the command runs on the system clock
    out = tmp_path / "verifier.json"
    try:
        rotated = CliRunner().invoke(cli.main, ["keys", "rotate-verifier"])
        exported = CliRunner().invoke(cli.main, ["keys", "export-verifier", "--partner",
                                                 bank["id"], "--out", str(out),
                                                 "--ceremony", ceremony_id])
    finally:
        get_settings.cache_clear()
    assert rotated.exit_code == 0, rotated.output
    assert exported.exit_code == 0, exported.output
    assert out.stat().st_mode & 0o077 == 0
    new = make_cardholder(runtime, first_name="After")
    kids = {claim169.inspect(h["qr"]).key_id for h in (old, new)}
    assert len(kids) == 2
    import json

    assert {k["kid"].encode() for k in json.loads(out.read_text())["keys"]} == kids
    _, key = make_partner(client, admin, "library", name="After Rotation Library")
    for holder in (old, new):
        assert client.post("/v1/verify", headers=key,
                           json={"qr": holder["qr"]}).json()["reason"] == "ok"
