"""No column holds words a partner chose: a verification purpose is a code from its type's list,
a police incident reference and an Idempotency-Key are kept only as keyed hashes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from redemption import verification
from redemption.models import Redemption
from tests.conftest import all_table_text
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_benefit, make_cardholder, make_partner

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
KEYED_HASH = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def holder(runtime: Runtime) -> dict[str, Any]:
    return make_cardholder(runtime)


@pytest.mark.parametrize("purpose", ["undocumented", "immigration_status", "visa_overstay"])
def test_a_purpose_outside_the_list_is_refused_and_stored_nowhere(
        purpose: str, client: TestClient, admin: Headers, holder: dict[str, Any],
        runtime: Runtime) -> None:
    _, police = make_partner(client, admin, "police")
    refused = client.post("/v1/verify", headers=police, json={"qr": holder["qr"],
                                                              "purpose": purpose})
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_purpose"
    assert "traffic_stop" in refused.json()["detail"]  # it says what may be given
    assert not [e for e in audit_trail(runtime) if e.action == "card.verified"]
    assert purpose not in all_table_text(runtime)


@pytest.mark.parametrize("purpose", ["ICE-detainer", "visa-overstay-check", "INC-77"])
def test_a_purpose_in_words_is_refused_for_every_partner_type(
        purpose: str, client: TestClient, admin: Headers, holder: dict[str, Any],
        runtime: Runtime) -> None:
    for partner_type in ("police", "bank", "cultural"):
        _, key = make_partner(client, admin, partner_type)
        refused = client.post("/v1/verify", headers=key,
                              json={"qr": holder["qr"], "purpose": purpose})
        assert refused.status_code == 422, (partner_type, refused.text)
    assert purpose not in all_table_text(runtime)


def test_each_type_takes_only_its_own_purpose_codes(client: TestClient, admin: Headers,
                                                    holder: dict[str, Any]) -> None:
    partner, bank = make_partner(client, admin, "bank")
    assert "account_opening" in partner["purposes"] and not partner["purpose_required"]
    assert client.post("/v1/verify", headers=bank, json={"qr": holder["qr"]}).status_code == 200
    assert client.post("/v1/verify", headers=bank, json={
        "qr": holder["qr"], "purpose": "account_opening"}).status_code == 200
    police_only = client.post("/v1/verify", headers=bank, json={
        "qr": holder["qr"], "purpose": "traffic_stop"})
    assert police_only.status_code == 422 and police_only.json()["code"] == "unknown_purpose"


def test_an_incident_reference_is_kept_only_as_a_keyed_hash_that_matches_the_case(
        client: TestClient, admin: Headers, holder: dict[str, Any], runtime: Runtime) -> None:
    _, police = make_partner(client, admin, "police")
    answered = client.post("/v1/verify", headers=police, json={
        "qr": holder["qr"], "purpose": "incident_investigation",
        "incident_reference": "INC-2026-0042"})
    assert answered.status_code == 200, answered.text
    [entry] = [e for e in audit_trail(runtime) if e.action == "card.verified"]
    assert entry.purpose == "incident_investigation"
    assert KEYED_HASH.fullmatch(str(entry.detail["incident"]))
    stored = all_table_text(runtime)
    assert "2026-0042" not in stored and "20260042" not in stored
    with unit_of_work(runtime.sessions) as session:
        # A lawful request names the case number as written on its file, in any spacing.
        found = verification.verifications_for_incident(session, desk=runtime.cards,
                                                        reference="inc 2026/0042")
        other = verification.verifications_for_incident(session, desk=runtime.cards,
                                                        reference="INC-2026-0043")
    assert [(e.action, e.subject) for e in found] == [(entry.action, entry.subject)]
    assert other == []


def test_only_police_give_an_incident_reference(client: TestClient, admin: Headers,
                                                holder: dict[str, Any],
                                                runtime: Runtime) -> None:
    _, bank = make_partner(client, admin, "bank")
    refused = client.post("/v1/verify", headers=bank, json={
        "qr": holder["qr"], "incident_reference": "CASE-1234"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "incident_reference_not_taken"
    assert "CASE-1234" not in all_table_text(runtime)


def test_an_idempotency_key_is_stored_only_as_a_keyed_hash_and_still_replays(
        client: TestClient, admin: Headers, holder: dict[str, Any], runtime: Runtime) -> None:
    partner, key = make_partner(client, admin, "cultural", "City Museum")
    benefit = make_benefit(client, admin, partner["id"], START.date())
    chosen = "undocumented-visa-overstay-0001"
    headers = {**key, "Idempotency-Key": chosen}
    body = {"benefit_id": benefit["id"], "qr": holder["qr"]}
    first = client.post("/v1/redemptions", headers=headers, json=body)
    again = client.post("/v1/redemptions", headers=headers, json=body)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json()["id"] == first.json()["id"]  # the retry replays the same receipt
    with unit_of_work(runtime.sessions) as session:
        [stored] = session.scalars(select(Redemption.idempotency_key)).all()
    assert KEYED_HASH.fullmatch(stored) and stored != chosen
    assert "undocumented" not in all_table_text(runtime)
    # The hash is per partner: another partner's same key is another request.
    other, other_key = make_partner(client, admin, "cultural", "City Zoo")
    other_benefit = make_benefit(client, admin, other["id"], START.date())
    elsewhere = client.post("/v1/redemptions", headers={**other_key, "Idempotency-Key": chosen},
                            json={"benefit_id": other_benefit["id"], "qr": holder["qr"]})
    assert elsewhere.status_code == 200 and elsewhere.json()["id"] != first.json()["id"]


def test_a_reused_idempotency_key_for_another_request_still_conflicts(
        client: TestClient, admin: Headers, runtime: Runtime) -> None:
    partner, key = make_partner(client, admin, "cultural", "City Museum")
    benefit = make_benefit(client, admin, partner["id"], START.date())
    one, two = make_cardholder(runtime, "Alinta"), make_cardholder(runtime, "Bartholomew")
    headers = {**key, "Idempotency-Key": f"retry-{uuid.uuid4().hex}"}
    assert client.post("/v1/redemptions", headers=headers, json={
        "benefit_id": benefit["id"], "qr": one["qr"]}).status_code == 200
    conflict = client.post("/v1/redemptions", headers=headers, json={
        "benefit_id": benefit["id"], "qr": two["qr"]})
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
