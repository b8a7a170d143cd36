"""Holder history is only for the holder: what is on the card (number, date of birth, issue
number) proves nothing, so until the one-time code lands the route refuses; every attempt is
throttled per card and per client, and audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_cardholder, make_partner

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"holder_history_per_hour": 3}


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


def proof(holder: dict[str, Any]) -> dict[str, Any]:
    return {"card_number": holder["card_number"], "date_of_birth": holder["date_of_birth"],
            "issue_number": holder["issue_number"]}


def test_card_data_alone_never_opens_the_history(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers]) -> None:
    holder = make_cardholder(runtime)
    _, police = make_partner(client, auth_header("admin"), "police", "Precinct 84")
    client.post("/v1/verify", headers=police, json={"qr": holder["qr"],
                                                    "purpose": "identity_check"})
    refused = client.post("/v1/holder/history", json=proof(holder))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == "holder_code_required"
    assert "one-time code" in body["detail"]
    assert "Precinct 84" not in refused.text and "verified" not in refused.text
    # A real card and a made-up one get the same answer: the route looks nothing up.
    made_up = client.post("/v1/holder/history", json={**proof(holder),
                                                      "card_number": "4000000000000002"})
    assert (made_up.status_code, made_up.json()) == (403, body)


def test_each_attempt_is_audited_with_codes_only(client: TestClient, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    for _ in range(4):
        client.post("/v1/holder/history", json=proof(holder))
    entries = [e for e in audit_trail(runtime) if e.action == "holder.history_refused"]
    assert [e.detail["reason"] for e in entries] == ["holder_code_required"] * 3 + [
        "rate_limited"]
    assert all(e.subject is None and e.purpose is None for e in entries)
    assert holder["card_number"] not in str([e.detail for e in entries])


def test_attempts_are_throttled_per_card(client: TestClient, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    for _ in range(3):
        assert client.post("/v1/holder/history", json=proof(holder)).status_code == 403
    throttled = client.post("/v1/holder/history", json=proof(holder))
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0


def test_attempts_are_throttled_per_client(client: TestClient, runtime: Runtime) -> None:
    holders = [make_cardholder(runtime, first_name=f"Holder{i}") for i in range(4)]
    answers = [client.post("/v1/holder/history", json=proof(h)).status_code for h in holders]
    assert answers == [403, 403, 403, 429]  # four cards, one client, a limit of three
