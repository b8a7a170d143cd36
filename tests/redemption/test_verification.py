"""Partners verify a presented card and see exactly what their policy allows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.access import PARTNER
from api.app import all_rules
from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from partners.models import PartnerKey
from tests.conftest import all_table_text
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_cardholder, make_partner

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

EXPECTED = {
    "cultural": {"validity", "expires_on", "holder_token"},
    "library": {"validity", "expires_on", "holder_token"},
    "benefit": {"validity", "expires_on", "holder_token"},
    "bank": {"validity", "expires_on", "holder_token", "full_name", "date_of_birth", "address",
             "card_number"},
    "credit_union": {"validity", "expires_on", "holder_token", "full_name", "date_of_birth",
                     "address", "card_number"},
    "police": {"validity", "expires_on", "holder_token", "full_name", "date_of_birth", "photo"},
}


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def holder(runtime: Runtime) -> dict[str, Any]:
    return make_cardholder(runtime)


@pytest.mark.parametrize("partner_type", sorted(EXPECTED))
def test_each_partner_type_sees_exactly_its_attributes(
        partner_type: str, client: TestClient, admin: Headers, holder: dict[str, Any]) -> None:
    _, key = make_partner(client, admin, partner_type)
    body: dict[str, Any] = {"qr": holder["qr"]}
    if partner_type == "police":
        body["purpose"] = "identity_check"
    response = client.post("/v1/verify", headers=key, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["result"], result["reason"]) == ("valid", "ok")
    assert set(result["disclosed"]) == EXPECTED[partner_type]
    disclosed = result["disclosed"]
    if "full_name" in disclosed:
        assert disclosed["full_name"] == "Zephyrine Quill"
        assert disclosed["date_of_birth"] == holder["date_of_birth"]
    if "photo" in disclosed:
        assert disclosed["photo"].startswith("data:image/jpeg;base64,")
    if "card_number" in disclosed:
        assert disclosed["card_number"] == holder["card_number"]


def test_police_must_give_a_purpose_code_and_it_is_audited(client: TestClient, admin: Headers,
                                                           holder: dict[str, Any],
                                                           runtime: Runtime) -> None:
    partner, police = make_partner(client, admin, "police")
    refused = client.post("/v1/verify", headers=police, json={"qr": holder["qr"]})
    assert refused.status_code == 422 and refused.json()["code"] == "purpose_required"
    free_text = client.post("/v1/verify", headers=police,
                            json={"qr": holder["qr"], "purpose": "stopped him on 5th ave"})
    assert free_text.status_code == 422
    assert client.post("/v1/verify", headers=police, json={
        "qr": holder["qr"], "purpose": "welfare_check"}).status_code == 200
    entries = [e for e in audit_trail(runtime) if e.action == "card.verified"]
    assert [e.purpose for e in entries] == ["welfare_check"]
    assert entries[0].role == "partner-police"
    with unit_of_work(runtime.sessions) as session:  # which of the partner's keys was used
        [key_id] = session.scalars(select(PartnerKey.id).where(
            PartnerKey.partner_id == uuid.UUID(partner["id"]))).all()
    assert entries[0].detail["via"] == f"key:{key_id}"


def test_verification_by_number_needs_the_right_birth_date(client: TestClient, admin: Headers,
                                                           holder: dict[str, Any]) -> None:
    _, bank = make_partner(client, admin, "bank")
    ok = client.post("/v1/verify", headers=bank, json={
        "card_number": holder["card_number"], "date_of_birth": holder["date_of_birth"]})
    assert ok.json()["result"] == "valid"
    wrong_dob = client.post("/v1/verify", headers=bank, json={
        "card_number": holder["card_number"], "date_of_birth": "1990-01-01"})
    unknown = client.post("/v1/verify", headers=bank, json={
        "card_number": "4000000000000002", "date_of_birth": holder["date_of_birth"]})
    assert wrong_dob.status_code == unknown.status_code == 404
    assert wrong_dob.json() == unknown.json()


def test_holder_tokens_differ_between_partners_and_are_stable_for_one(
        client: TestClient, admin: Headers, holder: dict[str, Any]) -> None:
    _, museum = make_partner(client, admin, "cultural", "Museum")
    _, zoo = make_partner(client, admin, "cultural", "Zoo")

    def token(key: Headers) -> str:
        return str(client.post("/v1/verify", headers=key, json={"qr": holder["qr"]})
                   .json()["disclosed"]["holder_token"])

    assert token(museum) == token(museum)
    assert token(museum) != token(zoo)


def test_a_revoked_suspended_or_expired_card_is_invalid_online(
        client: TestClient, admin: Headers, holder: dict[str, Any],
        auth_header: Callable[[str], Headers], clock: FixedClock, runtime: Runtime) -> None:
    _, museum = make_partner(client, admin, "cultural")
    supervisor = auth_header("supervisor")
    other = make_cardholder(runtime, first_name="Other")
    client.post(f"/v1/cards/{other['id']}/suspend", headers=supervisor,
                json={"reason": "under_investigation"})
    suspended = client.post("/v1/verify", headers=museum, json={"qr": other["qr"]}).json()
    assert (suspended["result"], suspended["reason"], suspended["disclosed"]) == \
        ("invalid", "suspended", {})
    client.post(f"/v1/cards/{holder['id']}/revoke", headers=supervisor, json={"reason": "lost"})
    assert client.post("/v1/verify", headers=museum,
                       json={"qr": holder["qr"]}).json()["reason"] == "revoked"
    clock.advance(timedelta(days=5 * 366))
    fresh_key = make_partner(client, auth_header("admin"), "library", "Library")[1]
    assert client.post("/v1/verify", headers=fresh_key,
                       json={"qr": other["qr"]}).json()["reason"] == "expired"


@pytest.mark.parametrize("qr", ["", "NOT-A-CARD", "6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3"])
def test_garbage_is_unreadable_not_an_error(qr: str, client: TestClient, admin: Headers) -> None:
    _, museum = make_partner(client, admin, "cultural")
    response = client.post("/v1/verify", headers=museum, json={"qr": qr})
    if qr == "":
        assert response.status_code == 422
    else:
        assert response.status_code == 200
        assert response.json()["reason"] in {"unreadable", "unsupported"}


def test_keys_are_shown_once_stored_hashed_and_fail_with_their_own_codes(
        client: TestClient, admin: Headers, holder: dict[str, Any], runtime: Runtime,
        clock: FixedClock, auth_header: Callable[[str], Headers]) -> None:
    partner, key = make_partner(client, admin, "cultural")
    raw = key["Authorization"].removeprefix("Bearer ")
    assert raw not in all_table_text(runtime)
    listed = client.get(f"/v1/partners/{partner['id']}/keys", headers=admin).json()
    assert "key" not in listed[0] and raw.startswith(listed[0]["prefix"])

    def verify(headers: Headers) -> Any:
        return client.post("/v1/verify", headers=headers, json={"qr": holder["qr"]})

    assert verify(key).status_code == 200
    assert client.get(f"/v1/partners/{partner['id']}/keys", headers=admin).json()[0][
        "last_used_at"] is not None
    unknown = verify({"Authorization": "Bearer cpk_00000000_nope"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_key"

    client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={"active": False})
    inactive = verify(key)
    assert inactive.status_code == 403 and inactive.json()["code"] == "partner_inactive"
    client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={"active": True})

    client.post(f"/v1/partners/{partner['id']}/keys/{listed[0]['id']}/revoke", headers=admin)
    revoked = verify(key)
    assert revoked.status_code == 401 and revoked.json()["code"] == "key_revoked"

    short = client.post(f"/v1/partners/{partner['id']}/keys", headers=admin,
                        json={"expires_in_days": 1}).json()["key"]
    clock.advance(timedelta(days=1, seconds=1))
    expired = verify({"Authorization": f"Bearer {short}"})
    assert expired.status_code == 401 and expired.json()["code"] == "key_expired"


def test_an_admin_can_narrow_a_policy_but_not_widen_it(client: TestClient, admin: Headers,
                                                       holder: dict[str, Any]) -> None:
    partner, bank = make_partner(client, admin, "bank")
    wider = client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={
        "policy": {"operations": ["verify", "redeem"], "attributes": ["validity"]}})
    assert wider.status_code == 422 and wider.json()["code"] == "policy_too_wide"
    photo = client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={
        "policy": {"operations": ["verify"], "attributes": ["validity", "photo"]}})
    assert photo.status_code == 422
    narrowed = client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={
        "policy": {"operations": ["verify"], "attributes": ["validity", "full_name"]}})
    assert narrowed.status_code == 200
    result = client.post("/v1/verify", headers=bank, json={"qr": holder["qr"]}).json()
    assert set(result["disclosed"]) == {"validity", "full_name"}


def test_no_partner_route_can_search_residents() -> None:
    partner_routes = {route for route, rule in all_rules().items() if rule.allows(PARTNER)}
    assert partner_routes == {("POST", "/v1/verify"), ("GET", "/v1/partner/benefits"),
                              ("POST", "/v1/redemptions"),
                              ("POST", "/v1/redemptions/{redemption_id}/void")} | \
        {route for route, rule in all_rules().items() if rule.public}


def test_partner_keys_are_rate_limited(client: TestClient, admin: Headers,
                                       holder: dict[str, Any], runtime: Runtime) -> None:
    from cityid.ratelimit import Limit

    _, museum = make_partner(client, admin, "cultural")
    runtime.settings.partner_requests_per_minute = 3
    assert runtime.partner_limits[0] == Limit("partner:key", 3, 60)
    statuses = [client.post("/v1/verify", headers=museum, json={"qr": holder["qr"]}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
