"""The clerk's day page at their site: check-in, a walk-in queued and served, no-shows
released, through the real forms (with their tokens)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.appointments.helpers import RELEASE, Headers, book, make_site, open_slots
from tests.conftest import STAFF_PASSWORD
from tests.web.conftest import csrf_token

MORNING = datetime(2026, 12, 28, 14, 5, tzinfo=UTC)  # 09:05 in New York


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


def test_the_clerk_checks_in_queues_a_walk_in_and_releases_no_shows(
        client: TestClient, browser_client: TestClient, runtime: Runtime,
        auth_header: Callable[[str], Headers], make_staff: Callable[..., str]) -> None:
    assert isinstance(runtime.clock, FixedClock)
    site = make_site(client, auth_header("admin"), through="2026-12-31")
    slots = open_slots(client, site["id"], "2026-12-28")
    for i in (0, 2):
        assert book(client, slots[i]["id"], contact=f"d{i}@example.org",
                    first_name=f"Resident{i}").status_code == 201
    runtime.clock.set(MORNING)
    admin = auth_header("admin")
    username = make_staff("clerk")
    staff = {s["username"]: s["id"] for s in client.get("/v1/staff", headers=admin).json()}
    assert client.post(f"/v1/sites/{site['id']}/staff", headers=admin,
                       json={"staff_id": staff[username]}).status_code == 200
    page = browser_client.get("/signin")
    signed = browser_client.post("/signin", data={"csrf_token": csrf_token(page.text),
                                                  "username": username,
                                                  "password": STAFF_PASSWORD})
    assert signed.status_code == 303

    mine = browser_client.get("/clerk/day")
    assert mine.status_code == 200 and site["name"] in mine.text
    day = browser_client.get(f"/clerk/day/{site['id']}")
    assert day.status_code == 200 and "Resident0" in day.text and "Resident2" in day.text
    token = csrf_token(day.text)
    first = client.get(f"/v1/sites/{site['id']}/day",
                       headers=_clerk_header(client, username)).json()["appointments"][0]
    checked = browser_client.post(f"/clerk/day/{site['id']}/check-in/{first['id']}",
                                  data={"csrf_token": token})
    assert checked.status_code == 303
    again = browser_client.post(f"/clerk/day/{site['id']}/check-in/{first['id']}",
                                data={"csrf_token": token})
    assert again.status_code == 409 and "not waiting for check-in" in again.text

    queued = browser_client.post(f"/clerk/day/{site['id']}/walk-ins",
                                 data={"csrf_token": token, "language": "es",
                                       "interpreter": "on"})
    assert queued.status_code == 303
    day = browser_client.get(f"/clerk/day/{site['id']}")
    assert "Number 1: es, interpreter" in day.text and "checked in" in day.text

    # 09:36: the 09:20 appointment is missed; the page is used meanwhile, so the session's
    # idle timeout does not end it.
    runtime.clock.advance(timedelta(minutes=20))
    assert browser_client.get(f"/clerk/day/{site['id']}").status_code == 200
    runtime.clock.advance(timedelta(minutes=11))
    released = browser_client.post(f"/clerk/day/{site['id']}/no-shows",
                                   data={"csrf_token": token})
    assert released.status_code == 303
    assert "no show" in browser_client.get(f"/clerk/day/{site['id']}").text
    refused = browser_client.post(f"/clerk/day/{site['id']}/no-shows", data={"x": "1"})
    assert refused.status_code == 403  # no form token


def _clerk_header(client: TestClient, username: str) -> Headers:
    token = client.post("/v1/auth/token", json={"username": username,
                                                "password": STAFF_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}
