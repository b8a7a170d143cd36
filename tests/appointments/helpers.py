from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

Headers = dict[str, str]
# Friday 4 December 2026, 10:00 in New York: the release of the week of 28 December.
RELEASE = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def site_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Queens Library, Jamaica", "address": "89-11 Merrick Blvd, Jamaica NY",
            "time_zone": "America/New_York",
            "hours": {d: [["09:00", "12:00"]] for d in WEEKDAYS}, "desks": 2,
            "slot_minutes": 20, "walk_in_percent": 0,
            "accessibility": ["step_free_entrance", "hearing_loop"],
            "languages": ["en", "es", "ar"], **overrides}


def make_site(client: TestClient, admin: Headers, *, through: str | None = "2027-01-08",
              **overrides: Any) -> dict[str, Any]:
    created = client.post("/v1/sites", headers=admin, json=site_body(**overrides))
    assert created.status_code == 201, created.text
    site: dict[str, Any] = created.json()
    if through is not None:
        made = client.post(f"/v1/sites/{site['id']}/slots", headers=admin,
                           json={"through": through})
        assert made.status_code == 200, made.text
    return site


def open_slots(client: TestClient, site_id: str, start: str, days: int = 1) -> list[Any]:
    response = client.get(f"/v1/appointments/sites/{site_id}/slots",
                          params={"from": start, "days": days})
    assert response.status_code == 200, response.text
    slots: list[Any] = response.json()
    return slots


def book(client: TestClient, slot_id: str, **overrides: Any) -> Any:
    return client.post("/v1/appointments", json={
        "slot_id": slot_id, "first_name": "Amara", "contact": "amara@example.org",
        "party_size": 2, "interpreter": True, "interpreter_language": "ar", **overrides})
