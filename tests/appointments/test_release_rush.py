"""A release rush against a real server: 200 residents at once for 20 slots get exactly 20
appointments, no 5xx, and a clear `slot_taken` for everyone else. Meant for PostgreSQL, where
the requests truly run at once; on SQLite the same rush runs serialised by its write lock."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.runtime import Runtime
from appointments.models import Appointment
from cityid.clock import Clock, FixedClock
from tests.appointments.helpers import RELEASE, Headers, make_site, open_slots
from tests.appointments.server import serve

CLIENTS, SLOTS = 200, 20


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Room for the whole rush at once: the test is about the database, not load shedding.
    return {"worker_threads": 400, "max_requests_in_flight": 300, "database_pool_size": 20,
            "trusted_proxies": ["127.0.0.1"]}


def _post(port: int, path: str, body: dict[str, Any], client: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"content-type": "application/json", "x-forwarded-for": client})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_two_hundred_residents_at_once_get_exactly_twenty_slots_and_clear_answers(
        app: FastAPI, client: TestClient, runtime: Runtime,
        auth_header: Callable[[str], Headers]) -> None:
    # One desk, 09:00-15:40 in 20 minutes: 20 slots on 28 December.
    site = make_site(client, auth_header("admin"), through="2026-12-28", desks=1,
                     hours={"monday": [["09:00", "15:40"]]})
    slots = [s["id"] for s in open_slots(client, site["id"], "2026-12-28")]
    assert len(slots) == SLOTS
    # Ten residents want each slot, and all press at once.
    wanted = [(slots[i % SLOTS], f"10.1.{i // 250}.{i % 250 + 1}") for i in range(CLIENTS)]
    with serve(app) as port, ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda w: _post(port, "/v1/appointments", {
            "slot_id": w[0], "first_name": "Rush", "party_size": 1}, w[1]), wanted))
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: SLOTS, 409: CLIENTS - SLOTS}, statuses
    assert {body["code"] for status, body in answers if status == 409} == {"slot_taken"}
    with runtime.engine.connect() as conn:
        held = conn.execute(select(Appointment.slot_id, func.count())
                            .group_by(Appointment.slot_id)).all()
    assert len(held) == SLOTS and {n for _, n in held} == {1}
    assert {str(s) for s, _ in held} == set(slots)
