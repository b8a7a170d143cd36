"""What a booking keeps is gone after its retention period, and the subpoena drill sees the
appointment tables: ciphertext in a dump, and counted in what a lawful order could obtain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.runtime import Runtime
from appointments.models import Appointment
from appointments.rules import load_rules
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from oversight import drill, retention
from privacy.models import DataKey
from tests.appointments.helpers import RELEASE, Headers, book, make_site, open_slots


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


def _book_one(client: TestClient, admin: Headers) -> str:
    site = make_site(client, admin, through="2026-12-31")
    slot = open_slots(client, site["id"], "2026-12-28")[0]["id"]
    response = book(client, slot, first_name="Oluwaseun", contact="seun@example.org")
    assert response.status_code == 201
    return str(response.json()["code"])


def test_a_booking_is_purged_after_its_retention_period_and_not_before(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers]) -> None:
    assert isinstance(runtime.clock, FixedClock)
    code = _book_one(client, auth_header("admin"))
    rules = retention.load_rules()
    days = load_rules().purge_after_days
    runtime.clock.set(RELEASE + timedelta(days=24 + days))  # 28 December plus the period
    kept = retention.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock, rules=rules)
    assert kept.appointments_purged == 0
    runtime.clock.advance(timedelta(days=1, hours=12))
    report = retention.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock,
                           rules=rules)
    assert report.appointments_purged == 1
    with unit_of_work(runtime.sessions) as session:
        row = session.scalars(select(Appointment)).one()
        assert (row.first_name_enc, row.contact_enc, row.contact_hash, row.code_index) == \
            (None, None, None, None)
        assert row.purged_at is not None and row.status == "booked"
        assert session.get(DataKey, row.id) is None
    gone = client.post("/v1/appointments/find", json={"code": code})
    assert gone.status_code == 404
    again = retention.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock,
                          rules=rules)
    assert again.appointments_purged == 0


def test_the_drill_finds_the_appointment_tables_sealed_and_counts_them_with_the_keys(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
        tmp_path: Path) -> None:
    _book_one(client, auth_header("admin"))
    dump = drill.dump_database(runtime.settings.effective_database_url, tmp_path / "dump")
    report = drill.analyse(drill.read_dump(dump), source=str(dump),
                           canaries=["Oluwaseun", "seun@example.org"])
    assert report.clean, report.render()
    sealed = {(c.table, c.column) for c in report.columns
              if c.classification.startswith("ciphertext")}
    assert {("appointments", "first_name_enc"), ("appointments", "contact_enc")} <= sealed
    with unit_of_work(runtime.sessions) as session:
        reach = drill.lawful_reach(session, runtime.vault)
    assert reach["appointments_on_record"] == reach["appointment_first_names"] == 1
    assert reach["appointment_contacts"] == 1


def test_the_drill_would_flag_a_first_name_stored_in_the_clear(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
        tmp_path: Path) -> None:
    _book_one(client, auth_header("admin"))
    with runtime.engine.begin() as conn:
        conn.execute(update(Appointment).values(first_name_enc=b"Oluwaseun"))
    dump = drill.dump_database(runtime.settings.effective_database_url, tmp_path / "dump")
    report = drill.analyse(drill.read_dump(dump), source=str(dump), canaries=["Oluwaseun"])
    assert {(f.table, f.column) for f in report.findings if f.kind == "canary"} == \
        {("appointments", "first_name_enc")}
