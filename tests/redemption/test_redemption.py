"""Benefits are redeemed exactly once, under concurrency, retries and at the edges of their
limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from redemption.models import Redemption
from tests.redemption.helpers import Headers, make_benefit, make_cardholder, make_partner

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def museum(client: TestClient, admin: Headers) -> tuple[dict[str, Any], Headers]:
    return make_partner(client, admin, "cultural", "City Museum")


@pytest.fixture
def holder(runtime: Runtime) -> dict[str, Any]:
    return make_cardholder(runtime)


def redeem(client: TestClient, key: Headers, benefit: dict[str, Any], holder: dict[str, Any],
           idempotency_key: str | None = None) -> Any:
    headers = {**key, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    return client.post("/v1/redemptions", headers=headers,
                       json={"benefit_id": benefit["id"], "qr": holder["qr"]})


def ledger_rows(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Redemption)) or 0)


def test_fifty_concurrent_redemptions_give_one_success(client: TestClient, admin: Headers,
                                                       museum: Any, holder: dict[str, Any],
                                                       runtime: Runtime) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date())
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: redeem(client, key, benefit, holder), range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 49
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"already_redeemed"}
    assert ledger_rows(runtime) == 1


def test_fifty_retries_with_one_key_give_one_row_and_identical_receipts(
        client: TestClient, admin: Headers, museum: Any, holder: dict[str, Any],
        runtime: Runtime) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date())
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: redeem(client, key, benefit, holder, "retry-key-1"),
                                  range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert len({r.text for r in responses}) == 1
    assert ledger_rows(runtime) == 1


def test_the_same_key_with_another_body_is_a_conflict(client: TestClient, admin: Headers,
                                                      museum: Any, holder: dict[str, Any]
                                                      ) -> None:
    partner, key = museum
    first = make_benefit(client, admin, partner["id"], START.date(), name="Admission")
    second = make_benefit(client, admin, partner["id"], START.date(), name="Audio guide")
    assert redeem(client, key, first, holder, "same-key-123").status_code == 200
    conflict = redeem(client, key, second, holder, "same-key-123")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"


def test_a_redemption_needs_an_idempotency_key(client: TestClient, admin: Headers,
                                               museum: Any, holder: dict[str, Any]) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date())
    missing = client.post("/v1/redemptions", headers=key,
                          json={"benefit_id": benefit["id"], "qr": holder["qr"]})
    assert missing.status_code == 422 and missing.json()["code"] == "idempotency_key_required"


def test_a_second_try_says_when_it_was_redeemed(client: TestClient, admin: Headers,
                                                museum: Any, holder: dict[str, Any]) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date())
    assert redeem(client, key, benefit, holder).status_code == 200
    again = redeem(client, key, benefit, holder)
    assert again.status_code == 409
    assert again.json()["detail"] == "Already redeemed on 2026-11-02."


@pytest.mark.parametrize("action", ["revoke", "suspend", "expire", "inactive_partner"])
def test_only_a_valid_card_with_an_active_partner_redeems(
        action: str, client: TestClient, admin: Headers, museum: Any, holder: dict[str, Any],
        auth_header: Callable[[str], Headers], clock: FixedClock) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date(),
                           active_until=(START.date() + timedelta(days=4000)).isoformat())
    supervisor = auth_header("supervisor")
    expected = {"revoke": (409, "card_revoked"), "suspend": (409, "card_suspended"),
                "expire": (409, "card_expired"), "inactive_partner": (403, "partner_inactive")}
    if action == "revoke":
        client.post(f"/v1/cards/{holder['id']}/revoke", headers=supervisor,
                    json={"reason": "stolen"})
    elif action == "suspend":
        client.post(f"/v1/cards/{holder['id']}/suspend", headers=supervisor,
                    json={"reason": "under_investigation"})
    elif action == "expire":
        clock.advance(timedelta(days=5 * 366))
        fresh_admin = auth_header("admin")  # keys and sessions from 5 years ago have expired
        key = {"Authorization": "Bearer " + client.post(
            f"/v1/partners/{partner['id']}/keys", headers=fresh_admin, json={}).json()["key"]}
    else:
        client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={"active": False})
    response = redeem(client, key, benefit, holder)
    assert (response.status_code, response.json()["code"]) == expected[action]


def test_a_membership_lasts_a_year_from_its_first_redemption(
        client: TestClient, admin: Headers, museum: Any, holder: dict[str, Any],
        clock: FixedClock) -> None:
    partner, key = make_partner(client, admin, "cultural", "Zoo", key_days=800)
    benefit = make_benefit(client, admin, partner["id"], START.date(), name="Membership",
                           category="membership", limit=None)
    receipt = redeem(client, key, benefit, holder).json()
    assert receipt["member_until"] == (START + timedelta(days=365)).astimezone(NEW_YORK).date() \
        .isoformat()
    state = client.get("/v1/partner/benefits", headers={**key, "X-Card-QR": holder["qr"]}).json()
    assert state[0]["available"] is False and state[0]["member_until"] == receipt["member_until"]
    clock.advance(timedelta(days=364))
    assert redeem(client, key, benefit, holder).status_code == 409
    clock.advance(timedelta(days=1, seconds=1))
    renewed = redeem(client, key, benefit, holder)
    assert renewed.status_code == 200, renewed.text


def test_a_calendar_year_limit_resets_at_local_new_year(
        client: TestClient, admin: Headers, museum: Any, holder: dict[str, Any],
        clock: FixedClock) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date(),
                           limit={"count": 1, "period": "calendar_year"})
    clock.set(datetime(2026, 12, 31, 23, 59, 59, tzinfo=NEW_YORK))
    assert redeem(client, key, benefit, holder).status_code == 200
    # 05:00 UTC on 1 January is still 31 December in New York.
    clock.set(datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC))
    assert redeem(client, key, benefit, holder).status_code == 409
    clock.set(datetime(2027, 1, 1, 0, 0, 0, tzinfo=NEW_YORK))
    assert redeem(client, key, benefit, holder).status_code == 200


def test_a_rolling_window_limit_holds_to_the_second(client: TestClient, admin: Headers,
                                                    museum: Any, holder: dict[str, Any],
                                                    clock: FixedClock) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date(),
                           limit={"count": 1, "period": "rolling_days", "days": 30})
    assert redeem(client, key, benefit, holder).status_code == 200
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert redeem(client, key, benefit, holder).status_code == 409
    clock.advance(timedelta(seconds=1))
    assert redeem(client, key, benefit, holder).status_code == 200


def test_n_per_period_allows_n(client: TestClient, admin: Headers, museum: Any,
                               holder: dict[str, Any]) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date(),
                           limit={"count": 2, "period": "calendar_month"})
    assert [redeem(client, key, benefit, holder).status_code for _ in range(3)] == \
        [200, 200, 409]


def test_a_benefit_outside_its_window_is_not_offered(client: TestClient, admin: Headers,
                                                     museum: Any, holder: dict[str, Any]) -> None:
    partner, key = museum
    benefit = make_benefit(client, admin, partner["id"], START.date(),
                           active_from=(START.date() + timedelta(days=1)).isoformat())
    response = redeem(client, key, benefit, holder)
    assert response.status_code == 409 and response.json()["code"] == "benefit_not_active"


def test_the_partner_that_redeemed_can_void_within_the_window(
        client: TestClient, admin: Headers, museum: Any, holder: dict[str, Any],
        clock: FixedClock) -> None:
    partner, key = museum
    _, other = make_partner(client, admin, "library", "Library")
    benefit = make_benefit(client, admin, partner["id"], START.date())
    receipt = redeem(client, key, benefit, holder).json()
    void = {"reason": "entered_in_error"}
    assert client.post(f"/v1/redemptions/{receipt['id']}/void", headers=other,
                       json=void).status_code == 404
    voided = client.post(f"/v1/redemptions/{receipt['id']}/void", headers=key, json=void)
    assert voided.status_code == 200 and voided.json()["voided_at"]
    assert redeem(client, key, benefit, holder).status_code == 200  # the limit is free again
    late = redeem(client, key, make_benefit(client, admin, partner["id"], START.date(),
                                            name="Guide"), holder).json()
    clock.advance(timedelta(minutes=16))
    closed = client.post(f"/v1/redemptions/{late['id']}/void", headers=key, json=void)
    assert closed.status_code == 409 and closed.json()["code"] == "void_window_closed"


def test_a_partner_sees_only_its_own_benefits(client: TestClient, admin: Headers, museum: Any,
                                              holder: dict[str, Any]) -> None:
    partner, key = museum
    library, _ = make_partner(client, admin, "library", "Library")
    make_benefit(client, admin, partner["id"], START.date(), name="Admission")
    foreign = make_benefit(client, admin, library["id"], START.date(), name="Library card")
    listed = client.get("/v1/partner/benefits", headers=key).json()
    assert [b["benefit"]["name"] for b in listed] == ["Admission"]
    refused = redeem(client, key, foreign, holder)
    assert refused.status_code == 404


def test_the_report_suppresses_small_cells(client: TestClient, admin: Headers, museum: Any,
                                           runtime: Runtime,
                                           auth_header: Callable[[str], Headers]) -> None:
    partner, key = museum
    big = make_benefit(client, admin, partner["id"], START.date(), name="Admission")
    small = make_benefit(client, admin, partner["id"], START.date(), name="Audio guide")
    holders = [make_cardholder(runtime, first_name=f"Holder{i}") for i in range(12)]
    for person in holders:
        assert redeem(client, key, big, person).status_code == 200
    for person in holders[:3]:
        assert redeem(client, key, small, person).status_code == 200
    report = client.get("/v1/reports/redemptions", headers=auth_header("auditor")).json()
    cells = {(c["benefit"], c["month"]): c for c in report}
    assert cells[("Admission", "2026-11")]["redemptions"] == 12
    assert cells[("Audio guide", "2026-11")] == {"partner": "City Museum",
                                                 "benefit": "Audio guide", "month": "2026-11",
                                                 "redemptions": None, "suppressed": True}
