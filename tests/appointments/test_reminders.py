"""Appointment reminders through the notification outbox and a real local SMTP server: queued
a set time before the appointment for a booking with a contact, in the booking's language,
saying where and when and nothing about the person; once per booked time, withdrawn by a
cancellation, renewed by a reschedule; a phone number gets a text message; sealed while it
waits; never sent after the appointment started, nor after the booking was purged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.runtime import Runtime
from appointments import reminders
from appointments.retention import purge_due
from appointments.rules import load_rules
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from entry.cli import main as cli_main
from notifications import repository as outbox
from notifications.service import NoticeDesk
from tests.appointments.helpers import RELEASE, Headers, book, make_site, open_slots
from tests.conftest import all_table_text
from tests.holder.helpers import SmtpServer, deliver, outbox_size, smtp_server, smtp_settings

__all__ = ["smtp_server"]
# The first slot on Monday 28 December 2026 starts at 09:00 in New York (14:00 UTC).
SLOT_DAY = "2026-12-28"


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def _scan(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return reminders.queue_due(session, desk=NoticeDesk(runtime.vault, runtime.clock),
                                   rules=load_rules())


def _booked(client: TestClient, admin: Headers, *, lang: str = "es", **body: Any
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], SLOT_DAY)
    answer = client.post("/v1/appointments", json={"lang": lang,
        "slot_id": slots[0]["id"], "first_name": "Wilhelmina", "contact": "w.okafor@mail.example",
        "party_size": 1, "interpreter": False, **body})
    assert answer.status_code == 201, answer.text
    return answer.json(), slots


def _to_hours_before(clock: Clock, starts_at: str, hours: float) -> None:
    from datetime import datetime

    assert isinstance(clock, FixedClock)
    clock.set(datetime.fromisoformat(starts_at) - timedelta(hours=hours))


def test_a_reminder_goes_a_day_before_in_the_bookings_language_saying_where_and_when(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers,
        smtp_server: SmtpServer) -> None:
    booked, _slots = _booked(client, admin, lang="es")
    assert _scan(runtime) == 0  # weeks ahead: not yet
    _to_hours_before(clock, booked["starts_at"], 25)
    assert _scan(runtime) == 0
    _to_hours_before(clock, booked["starts_at"], 23)
    assert _scan(runtime) == 1
    assert _scan(runtime) == 0  # once per booked time
    stored = all_table_text(runtime)
    assert "w.okafor@mail.example" not in stored  # the waiting reminder is sealed

    report = deliver(runtime)
    assert (report.sent, report.retrying, report.dropped) == (1, 0, 0)
    [message] = smtp_server.inbox.messages
    assert smtp_server.inbox.recipients == [["w.okafor@mail.example"]]
    assert message["Content-Language"] == "es"
    assert message["Subject"] == "Recordatorio: su cita de City ID"
    body = message.get_content()
    assert "28 de diciembre de 2026" in body and "9:00" in body
    assert "Queens Library, Jamaica" in body and "89-11 Merrick Blvd" in body
    words = str(message).replace("w.okafor@mail.example", "")
    assert "Wilhelmina" not in words and booked["code"] not in words
    assert booked["code"].replace("-", "") not in words.replace("-", "")
    assert outbox_size(runtime) == 0


def test_cancelling_withdraws_the_reminder_and_rescheduling_gives_the_new_time_its_own(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers,
        smtp_server: SmtpServer) -> None:
    booked, slots = _booked(client, admin, lang="en")
    _to_hours_before(clock, booked["starts_at"], 20)
    assert _scan(runtime) == 1 and outbox_size(runtime) == 1
    moved = client.post("/v1/appointments/reschedule",
                        json={"code": booked["code"], "slot_id": slots[-1]["id"]})
    assert moved.status_code == 200, moved.text
    assert outbox_size(runtime) == 0  # the reminder of the old time is gone
    assert _scan(runtime) == 1  # the new time (later the same day) gets one
    deliver(runtime)
    [message] = smtp_server.inbox.messages
    assert "11:40" in message.get_content() and message["Content-Language"] == "en"

    _to_hours_before(clock, moved.json()["starts_at"], 10)
    cancelled = client.post("/v1/appointments/cancel", json={"code": booked["code"]})
    assert cancelled.status_code == 200
    assert _scan(runtime) == 0 and outbox_size(runtime) == 0


def test_a_cancellation_before_sending_leaves_nothing_to_send(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers,
        smtp_server: SmtpServer) -> None:
    booked, _slots = _booked(client, admin)
    _to_hours_before(clock, booked["starts_at"], 20)
    assert _scan(runtime) == 1
    assert client.post("/v1/appointments/cancel", json={"code": booked["code"]}).status_code == 200
    assert outbox_size(runtime) == 0
    assert deliver(runtime).sent == 0 and smtp_server.inbox.messages == []


def test_a_phone_number_gets_a_text_message_and_no_contact_gets_nothing(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers) -> None:
    site = make_site(client, admin)
    slots = open_slots(client, site["id"], SLOT_DAY)
    by_phone = book(client, slots[0]["id"], contact="+1 718 555 0142")
    silent = book(client, slots[1]["id"], contact=None)
    assert by_phone.status_code == 201 and silent.status_code == 201, silent.text
    _to_hours_before(clock, by_phone.json()["starts_at"], 12)
    assert _scan(runtime) == 1  # the booking without a contact asked for no reminder
    deliver(runtime)
    sink = runtime.settings.data_dir / "outbox-sink.jsonl"
    [record] = [json.loads(line) for line in sink.read_text().splitlines()]
    assert record["channel"] == "sms" and record["to"] == "+1 718 555 0142"
    assert "Queens Library, Jamaica" in record["body"] and "Amara" not in record["body"]


def test_a_reminder_not_sent_by_the_start_is_dropped_and_a_purge_withdraws_one(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers,
        smtp_server: SmtpServer) -> None:
    booked, slots = _booked(client, admin)
    other = book(client, slots[-1]["id"], contact="late@mail.example")
    assert other.status_code == 201, other.text
    _to_hours_before(clock, booked["starts_at"], 2)
    assert _scan(runtime) == 2  # both start within the day
    smtp_server.controller.stop()  # the mail server is down until after the first starts
    assert deliver(runtime).retrying == 2
    _to_hours_before(clock, booked["starts_at"], -0.5)
    report = deliver(runtime)
    assert (report.dropped, report.retrying) == (1, 1) and outbox_size(runtime) == 1

    # A purge (its retention, here reached by moving the clock) shreds the booking and takes
    # its reminder with it.
    with unit_of_work(runtime.sessions) as session:
        [waiting] = outbox.waiting(session)
        assert waiting.appointment_id is not None and waiting.resident_id is None
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=load_rules().purge_after_days + 2))
    assert purge_due(runtime.sessions, vault=runtime.vault, clock=clock) >= 2
    assert outbox_size(runtime) == 0


def test_the_send_command_queues_due_reminders(
        client: TestClient, runtime: Runtime, clock: Clock, admin: Headers,
        smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    booked, _slots = _booked(client, admin, lang="ar")
    _to_hours_before(clock, booked["starts_at"], 6)
    monkeypatch.setattr("entry.cli.notifications.command_runtime", lambda: runtime)
    result = CliRunner().invoke(cli_main, ["notifications", "send", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    [message] = smtp_server.inbox.messages
    assert message["Content-Language"] == "ar" and "City ID" in message["Subject"]
