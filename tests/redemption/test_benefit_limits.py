"""A benefit is stored as sent or refused: a limit the catalogue cannot honour is a 422 that says
why, never a quiet rewrite into another limit. And a used-up limit says when it opens again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from redemption.benefits import LIMIT_PERIODS_BY_CATEGORY, next_available
from redemption.models import Benefit, Redemption
from tests.redemption.helpers import Headers, make_partner

TODAY = date.today()


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def _benefit(partner_id: str, **fields: Any) -> dict[str, Any]:
    return {"partner_id": partner_id, "name": "Zoo membership", "category": "membership",
            "active_from": (TODAY - timedelta(days=1)).isoformat(),
            "active_until": (TODAY + timedelta(days=400)).isoformat(), **fields}


@pytest.mark.parametrize("limit", [{"count": 1, "period": "lifetime"},
                                   {"count": 1, "period": "calendar_year"},
                                   {"count": 1, "period": "rolling_days", "days": 30}])
def test_a_membership_sent_with_a_limit_is_refused_with_the_reason(
        client: TestClient, admin: Headers, limit: dict[str, Any]) -> None:
    partner, _ = make_partner(client, admin, "cultural", "Limit Zoo")
    response = client.post("/v1/benefits", headers=admin,
                           json=_benefit(partner["id"], limit=limit))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "benefit_limit_unsupported"
    assert repr(limit["period"]) in problem["detail"]
    assert "membership_days" in problem["detail"]
    listed = client.get("/v1/benefits", headers=admin, params={"partner_id": partner["id"]})
    assert listed.json() == []  # nothing was stored under another limit


def test_a_membership_without_a_limit_keeps_its_length(client: TestClient,
                                                        admin: Headers) -> None:
    partner, _ = make_partner(client, admin, "cultural", "Length Zoo")
    response = client.post("/v1/benefits", headers=admin,
                           json=_benefit(partner["id"], membership_days=200))
    assert response.status_code == 201, response.text
    assert response.json()["membership_days"] == 200


def test_discounts_and_services_take_every_limit_period() -> None:
    # The rule is data: only memberships are narrowed.
    everything = {"lifetime", "calendar_year", "calendar_month", "rolling_days"}
    assert LIMIT_PERIODS_BY_CATEGORY["discount"] == everything
    assert LIMIT_PERIODS_BY_CATEGORY["service"] == everything
    assert LIMIT_PERIODS_BY_CATEGORY["membership"] == frozenset()


# --- when a used-up limit opens again (the desk's "Next available on") -------------------------

NEW_YORK = ZoneInfo("America/New_York")
# 23:30 on 31 December in New York is already 1 January in UTC.
AT = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)


def _catalogue_entry(period: str, count: int = 1, days: int | None = None) -> Benefit:
    return Benefit(id=uuid.uuid4(), partner_id=uuid.uuid4(), name="Pass", category="service",
                   limit_count=count, limit_period=period, limit_days=days,
                   membership_days=None, active_from=TODAY, active_until=TODAY)


def _used(*moments: datetime) -> list[Redemption]:
    return [Redemption(id=uuid.uuid4(), redeemed_at=at) for at in moments]


@pytest.mark.parametrize(("period", "opens"), [("calendar_year", date(2027, 1, 1)),
                                               ("calendar_month", date(2027, 1, 1)),
                                               ("lifetime", None)])
def test_a_used_calendar_limit_opens_on_the_next_local_period(period: str,
                                                              opens: date | None) -> None:
    benefit = _catalogue_entry(period)
    assert next_available(benefit, _used(AT - timedelta(hours=1)), AT, NEW_YORK) == opens


def test_a_used_rolling_limit_opens_when_the_oldest_counted_use_leaves_the_window() -> None:
    benefit = _catalogue_entry("rolling_days", count=2, days=30)
    uses = _used(AT - timedelta(days=20), AT - timedelta(days=3))
    # 20 days ago plus 30 is 23:30 on 10 January, New York time.
    assert next_available(benefit, uses, AT, NEW_YORK) == date(2027, 1, 10)
    assert next_available(benefit, uses[1:], AT, NEW_YORK) is None  # one of two left: available
