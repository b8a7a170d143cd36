"""The outbox through a real local SMTP server: a code arrives in the holder's language, holds
the code and nothing else personal, and leaves the outbox once sent; a failing server is
retried with back-off and nothing is lost; an expired message is dropped unsent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment.i18n import SUPPORTED
from notifications import i18n
from notifications import repository as outbox
from notifications.rules import rules
from tests.conftest import all_table_text
from tests.holder.helpers import (
    CODE,
    SmtpServer,
    deliver,
    make_holder,
    outbox_size,
    smtp_server,
    smtp_settings,
)

__all__ = ["smtp_server"]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def ask_code(client: TestClient, holder: dict[str, object]) -> None:
    answer = client.post("/v1/holder/codes", json={"card_number": holder["card_number"],
                                                   "date_of_birth": holder["date_of_birth"]})
    assert answer.status_code == 202, answer.text


def test_code_arrives_in_the_holders_language_holding_only_the_code(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="zephyrine.quill@mail.example",
                         languages=("es",))
    ask_code(client, holder)
    assert outbox_size(runtime) == 1
    report = deliver(runtime)
    assert (report.sent, report.retrying) == (1, 0)
    [message] = smtp_server.inbox.messages
    assert smtp_server.inbox.recipients == [["zephyrine.quill@mail.example"]]
    assert message["Content-Language"] == "es"
    assert message["Subject"] == "Su código de City ID"
    body = message.get_content()
    assert "Su código de City ID es" in body and CODE.search(body)
    words = str(message)
    for personal in ("Zephyrine", "Quill", holder["card_number"], "1987", "03-14"):
        assert str(personal) not in words.replace("zephyrine.quill@mail.example", "")
    assert outbox_size(runtime) == 0


def test_the_waiting_message_keeps_its_code_and_contact_sealed(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="sealed.contact@mail.example")
    ask_code(client, holder)
    stored = all_table_text(runtime)
    deliver(runtime)
    code = smtp_server.inbox.last_code()
    assert code not in stored and "sealed.contact@mail.example" not in stored


def test_a_failing_smtp_server_is_retried_with_back_off_and_nothing_is_lost(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="retry@mail.example", languages=("ko",))
    ask_code(client, holder)
    smtp_server.inbox.fail = 2
    first = deliver(runtime)
    assert (first.sent, first.retrying) == (0, 1)
    with unit_of_work(runtime.sessions) as session:
        [waiting] = outbox.waiting(session)
        assert waiting.attempts == 1 and waiting.last_error == "smtp_451"
        assert waiting.next_attempt_at == START + timedelta(seconds=rules().backoff_seconds[0])
    # Not due yet: the back-off holds it.
    assert deliver(runtime).retrying == 0 and smtp_server.inbox.messages == []
    runtime.clock.advance(timedelta(seconds=rules().backoff_seconds[0]))
    assert deliver(runtime).retrying == 1
    runtime.clock.advance(timedelta(seconds=rules().backoff_seconds[1]))
    assert deliver(runtime).sent == 1
    [message] = smtp_server.inbox.messages
    assert message["Content-Language"] == "ko" and CODE.search(message.get_content())
    assert outbox_size(runtime) == 0


def test_an_unreachable_server_is_retried_too(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="down@mail.example")
    ask_code(client, holder)
    smtp_server.controller.stop()
    assert deliver(runtime).retrying == 1
    with unit_of_work(runtime.sessions) as session:
        assert outbox.waiting(session)[0].last_error == "smtp_unavailable"
    # The server comes back on the same port (a stopped controller cannot be restarted).
    smtp_server.controller = Controller(smtp_server.inbox, hostname="127.0.0.1",
                                        port=smtp_server.port)
    smtp_server.controller.start()
    runtime.clock.advance(timedelta(minutes=1))
    assert deliver(runtime).sent == 1 and len(smtp_server.inbox.messages) == 1


def test_a_code_message_past_its_lifetime_is_dropped_unsent(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="late@mail.example")
    ask_code(client, holder)
    runtime.clock.advance(rules().kinds["one_time_code"].lifetime + timedelta(seconds=1))
    report = deliver(runtime)
    assert (report.sent, report.dropped) == (0, 1)
    assert smtp_server.inbox.messages == [] and outbox_size(runtime) == 0


def test_a_holder_with_only_a_phone_gets_a_text_through_the_sms_sink(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, phone="+1 212 555 0147", languages=("ar",))
    ask_code(client, holder)
    assert deliver(runtime).sent == 1
    sink = runtime.settings.data_dir / "outbox-sink.jsonl"
    [line] = sink.read_text("utf-8").splitlines()
    record = json.loads(line)
    assert record["channel"] == "sms" and record["to"] == "+1 212 555 0147"
    assert record["body"].startswith("رمز City ID") and CODE.search(record["body"])
    assert oct(sink.stat().st_mode & 0o777) == "0o600"
    assert smtp_server.inbox.messages == []


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_kind_renders_in_every_language(lang: str) -> None:
    samples = {"code": "123456", "minutes": "10", "expires_on": "2027-01-31",
               "site": "Queens Library, Jamaica", "address": "89-11 Merrick Blvd",
               "day_on": "2027-01-04", "time": "14:40"}
    for kind, rule in rules().kinds.items():
        rendered = i18n.render(kind, lang, {p: samples[p] for p in rule.params})
        assert rendered.subject and rendered.body and "{" not in rendered.body
        for name in rule.params:
            if name not in ("expires_on", "day_on", "time"):  # written the holder's way
                assert samples[name] in rendered.body
        if "time" in rule.params:
            assert "40" in rendered.body
