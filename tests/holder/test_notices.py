"""Card notices through the real SMTP server, only for holders who opted in: renewal open (the
daily scan, once per card, 60 days before expiry) and card ready for pickup (when printed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from holder import renewal
from idcard import repository as card_repository
from idcard import service as cards
from notifications.service import NoticeDesk
from privacy.audit import Actor
from tests.holder.helpers import (
    SmtpServer,
    deliver,
    make_holder,
    session_for,
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


def opt_in(client: TestClient, runtime: Runtime, holder: dict[str, Any], kind: str) -> None:
    answer = client.put(f"/v1/holder/notifications/{kind}",
                        headers=session_for(client, runtime, holder), json={"opted_in": True})
    assert answer.status_code == 200, answer.text


def scan(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return renewal.scan(session, desk=NoticeDesk(runtime.vault, runtime.clock))


def test_the_renewal_notice_goes_once_when_the_window_opens_to_those_who_opted_in(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    wants = make_holder(runtime, email_address="wants@mail.example", languages=("zh",))
    make_holder(runtime, email_address="quiet@mail.example", first_name="Quiet")
    opt_in(client, runtime, wants, "renewal_open")
    deliver(runtime)
    sent_before = len(smtp_server.inbox.messages)
    assert scan(runtime) == 0  # five years from expiry
    with unit_of_work(runtime.sessions) as session:
        card = card_repository.get(session, __import__("uuid").UUID(wants["id"]))
        assert card is not None
        expires = card.expires_on
    runtime.clock.set(datetime.combine(expires - timedelta(days=60), datetime.min.time(),
                                       tzinfo=UTC) + timedelta(hours=9))
    assert scan(runtime) == 1
    assert scan(runtime) == 0  # once per card
    assert deliver(runtime).sent == 1
    message = smtp_server.inbox.messages[sent_before]
    assert smtp_server.inbox.recipients[sent_before] == ["wants@mail.example"]
    assert message["Content-Language"] == "zh"
    assert str(expires.year) in message.get_content() and "续办" in message.get_content()


def test_a_printed_pickup_card_is_announced_as_ready(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    # No home address: the card is picked up.
    holder = make_holder(runtime, email_address="pickup@mail.example")
    opt_in(client, runtime, holder, "card_ready")
    deliver(runtime)
    before = len(smtp_server.inbox.messages)
    with unit_of_work(runtime.sessions) as session:
        printed = cards.print_batch(session, desk=runtime.cards, actor=Actor("t", "clerk"),
                                    fulfilment=["to_print"], write=lambda pdf: None)
    assert printed >= 1
    assert deliver(runtime).sent == 1
    assert smtp_server.inbox.messages[before]["Subject"] == "Your City ID card is ready"
    assert "ready for pickup" in smtp_server.inbox.messages[before].get_content()
