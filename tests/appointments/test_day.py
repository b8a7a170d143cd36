"""The clerk's day at a site: check-in, an application started from the appointment, no-shows
released after the grace period, walk-ins queued and served; and the numbers for the city."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routers.appointments import booking_desk
from api.runtime import Runtime
from appointments.rules import load_rules
from appointments.service import BookingDesk
from cityid.clock import Clock, FixedClock
from tests.appointments.helpers import RELEASE, Headers, book, make_site, open_slots
from tests.conftest import STAFF_PASSWORD
from tests.factories import application_body

# Monday 28 December 2026 in New York.
MORNING = datetime(2026, 12, 28, 14, 5, tzinfo=UTC)  # 09:05 EST


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


@pytest.fixture(autouse=True)
def generous_limits(app: FastAPI, runtime: Runtime) -> Iterator[None]:
    """Every booking here comes from the one test client; the desk's day is what is tested."""
    rules = load_rules().model_copy(update={"max_bookings_per_client_per_day": 1000,
                                            "booking_attempts_per_client_per_minute": 1000})

    async def desk() -> BookingDesk:
        return BookingDesk(vault=runtime.vault, limiter=runtime.limiter, clock=runtime.clock,
                           rules=rules, rulebook=runtime.rulebook)

    app.dependency_overrides[booking_desk] = desk
    yield
    app.dependency_overrides.clear()


def _clerk_at(client: TestClient, admin: Headers, make_staff: Callable[..., str],
              site_id: str | None) -> Headers:
    username = make_staff("clerk")
    staff = {s["username"]: s["id"] for s in client.get("/v1/staff", headers=admin).json()}
    if site_id is not None:
        linked = client.post(f"/v1/sites/{site_id}/staff", headers=admin,
                             json={"staff_id": staff[username]})
        assert linked.status_code == 200 and staff[username] in linked.json()["staff_ids"]
    token = client.post("/v1/auth/token", json={"username": username,
                                                "password": STAFF_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def world(client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
          make_staff: Callable[..., str]) -> dict[str, Any]:
    """Two appointments booked at the release for the morning of 28 December, and the clock
    on that morning, 09:05, with a clerk of the site signed in."""
    site = make_site(client, auth_header("admin"), through="2026-12-31", walk_in_percent=20)
    slots = open_slots(client, site["id"], "2026-12-28")
    codes = [book(client, slots[i]["id"], contact=f"r{i}@example.org").json()["code"]
             for i in (0, 2)]  # 09:00 at desk 0, 09:20 at desk 0
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.set(MORNING)
    admin = auth_header("admin")  # signed in that morning: tokens made at the release expired
    return {"admin": admin, "site": site, "codes": codes,
            "clerk": _clerk_at(client, admin, make_staff, site["id"])}


def _day(client: TestClient, world: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/v1/sites/{world['site']['id']}/day", headers=world["clerk"])
    assert response.status_code == 200, response.text
    day: dict[str, Any] = response.json()
    return day


def test_check_in_then_an_application_carries_the_language_and_interpreter_need(
        client: TestClient, runtime: Runtime, world: dict[str, Any]) -> None:
    assert isinstance(runtime.clock, FixedClock)
    runtime.clock.set(MORNING)
    day = _day(client, world)
    assert [a["first_name"] for a in day["appointments"]] == ["Amara", "Amara"]
    first = day["appointments"][0]
    assert first["local_start"] == "2026-12-28T09:00:00-05:00" and first["status"] == "booked"
    site = world["site"]["id"]
    early = client.post(f"/v1/sites/{site}/appointments/{first['id']}/application",
                        headers=world["clerk"], json=application_body())
    assert early.status_code == 409  # not checked in yet
    checked = client.post(f"/v1/sites/{site}/appointments/{first['id']}/check-in",
                          headers=world["clerk"])
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    chosen_none: dict[str, Any] = dict(application_body())
    chosen_none["designations"] = {**chosen_none.get("designations", {}), "languages": []}
    started = client.post(f"/v1/sites/{site}/appointments/{first['id']}/application",
                          headers=world["clerk"], json=chosen_none)
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["interpreter"] is True and body["interpreter_language"] == "ar"
    assert body["application"]["designations"]["languages"] == ["ar"]
    assert _day(client, world)["appointments"][0]["application_id"] is not None
    again = client.post(f"/v1/sites/{site}/appointments/{first['id']}/application",
                        headers=world["clerk"], json=application_body())
    assert again.status_code == 409


def test_no_shows_are_released_after_the_grace_period_and_walk_ins_take_their_place(
        client: TestClient, runtime: Runtime, world: dict[str, Any]) -> None:
    assert isinstance(runtime.clock, FixedClock)
    site = world["site"]["id"]
    runtime.clock.set(MORNING + timedelta(minutes=9))  # 09:14: 09:00 is within its grace
    before = _day(client, world)["walk_in_slots_free"]
    none = client.post(f"/v1/sites/{site}/no-shows", headers=world["clerk"])
    assert none.json() == {"released": 0}
    runtime.clock.advance(timedelta(minutes=2))  # 09:16
    released = client.post(f"/v1/sites/{site}/no-shows", headers=world["clerk"])
    assert released.json() == {"released": 1}
    day = _day(client, world)
    assert [a["status"] for a in day["appointments"]] == ["no_show", "booked"]
    # The no-show's 09:00 slot runs until 09:20 and is held by no one now: a walk-in can
    # have it.
    assert day["walk_in_slots_free"] == before + 1
    late = client.post("/v1/appointments/cancel", json={"code": world["codes"][0]})
    assert late.status_code == 409

    queued = [client.post(f"/v1/sites/{site}/walk-ins", headers=world["clerk"],
                          json={"language": "es", "interpreter": i == 1}).json()
              for i in range(2)]
    assert [w["number"] for w in queued] == [1, 2]
    served = client.post(f"/v1/sites/{site}/walk-ins/{queued[0]['id']}/served",
                         headers=world["clerk"])
    assert served.json()["status"] == "served"
    assert [w["status"] for w in _day(client, world)["walk_ins"]] == ["served", "waiting"]


def test_a_clerk_of_another_site_does_not_see_this_day(
        client: TestClient, world: dict[str, Any], make_staff: Callable[..., str]) -> None:
    elsewhere = _clerk_at(client, world["admin"], make_staff, None)
    refused = client.get(f"/v1/sites/{world['site']['id']}/day", headers=elsewhere)
    assert refused.status_code == 403 and refused.json()["code"] == "not_at_this_site"


def test_the_numbers_give_kept_no_shows_and_lead_time_and_suppress_small_cells(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
        make_staff: Callable[..., str]) -> None:
    assert isinstance(runtime.clock, FixedClock)
    first_admin = auth_header("admin")
    big = make_site(client, first_admin, through="2026-12-31")
    small = make_site(client, first_admin, through="2026-12-31", name="Pop-up at the market")
    for i, slot in enumerate(open_slots(client, big["id"], "2026-12-28")[:12]):
        assert book(client, slot["id"], contact=f"n{i}@example.org").status_code == 201
    slot = open_slots(client, small["id"], "2026-12-28")[0]
    assert book(client, slot["id"], contact="x@example.org").status_code == 201
    runtime.clock.set(MORNING + timedelta(hours=3))  # 12:05: every slot of the morning began
    admin = auth_header("admin")
    clerk = _clerk_at(client, admin, make_staff, big["id"])
    day = client.get(f"/v1/sites/{big['id']}/day", headers=clerk).json()
    # The clock stands at 12:05; check-in is for today's appointments, whatever their time.
    for appointment in day["appointments"][:8]:
        assert client.post(f"/v1/sites/{big['id']}/appointments/{appointment['id']}/check-in",
                           headers=clerk).status_code == 200
    assert client.post(f"/v1/sites/{big['id']}/no-shows", headers=clerk).json() == \
        {"released": 4}
    cells = client.get("/v1/reports/appointments", headers=admin,
                       params={"from": "2026-12-01", "to": "2027-01-31"}).json()
    by_site = {c["site_name"]: c for c in cells}
    assert by_site[big["name"]] | {"site_id": None} == {
        "site_id": None, "site_name": big["name"], "week": "2026-W53", "booked": 12, "kept": 8,
        "no_shows": 4, "cancelled": 0, "no_show_rate": 0.333,
        "lead_days_median": by_site[big["name"]]["lead_days_median"],
        "lead_days_p90": by_site[big["name"]]["lead_days_p90"], "suppressed": False}
    # Booked on 4 December 10:00 for 28 December from 09:00: 23.96 to 24.1 days ahead.
    assert 23.9 < by_site[big["name"]]["lead_days_median"] <= \
        by_site[big["name"]]["lead_days_p90"] < 24.2
    assert by_site[small["name"]]["suppressed"] is True
    assert by_site[small["name"]]["booked"] is None
