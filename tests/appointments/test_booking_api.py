"""Public booking through the API: book, find, reschedule, cancel; the release honoured to the
minute; what is stored is sealed; limits per contact and per client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.runtime import Runtime
from appointments.models import Appointment
from cityid.clock import Clock, FixedClock
from tests.appointments.helpers import RELEASE, Headers, book, make_site, open_slots
from tests.conftest import all_table_text


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def test_book_find_reschedule_and_cancel_with_the_booking_code(
        client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], "2026-12-28")
    assert len(slots) == 18 and slots[0]["local_start"] == "2026-12-28T09:00:00-05:00"
    booked = book(client, slots[0]["id"])
    assert booked.status_code == 201, booked.text
    body = booked.json()
    code = body["code"]
    assert len(code) == 13 and body["first_name"] == "Amara"
    assert body["reminders"] == "kept_for_reminders"
    assert {d["category"] for d in body["documents_to_bring"]} >= {"identity", "residency"}
    assert slots[0]["id"] not in {s["id"] for s in open_slots(client, site["id"], "2026-12-28")}

    found = client.post("/v1/appointments/find", json={"code": code.lower().replace("-", " ")})
    assert found.status_code == 200 and found.json()["code"] is None
    assert found.json()["local_start"] == "2026-12-28T09:00:00-05:00"

    moved = client.post("/v1/appointments/reschedule", json={"code": code,
                                                              "slot_id": slots[5]["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"] == slots[5]["starts_at"]
    # The first slot is free again, the new one is held.
    free = {s["id"] for s in open_slots(client, site["id"], "2026-12-28")}
    assert slots[0]["id"] in free and slots[5]["id"] not in free

    cancelled = client.post("/v1/appointments/cancel", json={"code": code})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert slots[5]["id"] in {s["id"] for s in open_slots(client, site["id"], "2026-12-28")}
    again = client.post("/v1/appointments/cancel", json={"code": code})
    assert again.status_code == 409 and again.json()["code"] == "appointment_closed"


def test_a_taken_slot_answers_slot_taken(client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slot = open_slots(client, site["id"], "2026-12-28")[0]["id"]
    assert book(client, slot).status_code == 201
    second = book(client, slot, contact="someone.else@example.org")
    assert second.status_code == 409 and second.json()["code"] == "slot_taken"


def test_a_mistyped_or_unknown_code_is_told_apart_without_a_lookup(
        client: TestClient, admin: Headers) -> None:
    make_site(client, admin, through=None)
    typo = client.post("/v1/appointments/find", json={"code": "ABCD-EFGH-JK1"})
    assert typo.status_code == 422 and typo.json()["code"] == "invalid_booking_code"
    from appointments.code import new_code
    unknown = client.post("/v1/appointments/find", json={"code": new_code()})
    assert unknown.status_code == 404 and unknown.json()["code"] == "appointment_not_found"


def test_a_release_is_honoured_to_the_minute(client: TestClient, admin: Headers,
                                             runtime: Runtime) -> None:
    assert isinstance(runtime.clock, FixedClock)
    site = make_site(client, admin)
    runtime.clock.set(RELEASE - timedelta(minutes=1))
    # The week of 28 December is not out at 09:59; the week before it is.
    assert open_slots(client, site["id"], "2026-12-28") == []
    earlier = open_slots(client, site["id"], "2026-12-21")
    assert len(earlier) == 18
    with runtime.engine.connect() as conn:
        from sites.models import Slot
        early = conn.execute(select(Slot.id).where(Slot.starts_at > RELEASE + timedelta(days=23))
                             .limit(1)).scalar_one()
    refused = book(client, str(early))
    assert refused.status_code == 409 and refused.json()["code"] == "slot_not_open"
    runtime.clock.set(RELEASE)
    assert len(open_slots(client, site["id"], "2026-12-28")) == 18
    assert book(client, str(early)).status_code == 201


def test_a_closed_day_loses_its_free_slots_and_keeps_its_bookings(
        client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], "2026-12-24")
    assert book(client, slots[0]["id"]).status_code == 201
    closed = client.post(f"/v1/sites/{site['id']}/closures", headers=admin,
                         json={"day": "2026-12-24", "reason": "public_holiday"})
    assert closed.status_code == 201, closed.text
    assert closed.json() == {"day": "2026-12-24", "reason": "public_holiday",
                             "free_slots_removed": 17, "booked_slots_kept": 1}
    assert open_slots(client, site["id"], "2026-12-24") == []
    # Generating again does not bring the closed day back.
    again = client.post(f"/v1/sites/{site['id']}/slots", headers=admin,
                        json={"through": "2027-01-08"})
    assert again.json()["created"] == 0


def test_what_a_booking_keeps_is_sealed(client: TestClient, admin: Headers,
                                        runtime: Runtime) -> None:
    site = make_site(client, admin)
    slot = open_slots(client, site["id"], "2026-12-28")[0]["id"]
    code = book(client, slot, first_name="Zainabu", contact="+1 718 555 0142").json()["code"]
    stored = all_table_text(runtime)
    for value in ("Zainabu", "718 555 0142", "17185550142", code, code.replace("-", "")):
        assert value not in stored
    with runtime.engine.connect() as conn:
        row = conn.execute(select(Appointment.first_name_enc, Appointment.contact_enc)).one()
    assert all(bytes(v)[:1] == b"\x01" for v in row)


def test_a_party_over_the_limit_and_a_lone_interpreter_language_are_refused(
        client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slot = open_slots(client, site["id"], "2026-12-28")[0]["id"]
    big = book(client, slot, party_size=7)
    assert big.status_code == 422 and big.json()["code"] == "invalid_booking"
    lone = book(client, slot, interpreter=False, interpreter_language="ar")
    assert lone.status_code == 422


def test_a_contact_holds_at_most_the_set_number_of_appointments(
        client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], "2026-12-28")
    assert book(client, slots[0]["id"]).status_code == 201
    assert book(client, slots[1]["id"], contact="AMARA@example.org").status_code == 201
    third = book(client, slots[2]["id"])
    assert third.status_code == 409 and third.json()["code"] == "too_many_bookings"


def test_a_client_makes_at_most_the_set_number_of_bookings_a_day(
        client: TestClient, admin: Headers) -> None:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], "2026-12-28")
    answers = [book(client, s["id"], contact=f"p{i}@example.org").status_code
               for i, s in enumerate(slots[:5])]
    assert answers == [201, 201, 201, 201, 409]
    # The refused booking left its slot free.
    assert slots[4]["id"] in {s["id"] for s in open_slots(client, site["id"], "2026-12-28")}


def test_an_immigration_status_field_is_refused_and_stored_nowhere(
        client: TestClient, admin: Headers, runtime: Runtime) -> None:
    site = make_site(client, admin)
    slot = open_slots(client, site["id"], "2026-12-28")[0]["id"]
    refused = book(client, slot, immigration_status="undocumented-canary")
    assert refused.status_code == 422 and refused.json()["code"] == "forbidden_field"
    assert "undocumented-canary" not in all_table_text(runtime)


def test_booking_attempts_are_throttled_per_client(client: TestClient, admin: Headers) -> None:
    make_site(client, admin, through=None)
    import uuid
    answers = {book(client, str(uuid.uuid4())).status_code for _ in range(31)}
    assert answers == {404, 429}
