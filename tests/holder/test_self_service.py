"""What a holder does with a code: history, lost-card lock (online at once, and in the status
list), replacement, renewal inside its window, contact changes confirmed at the new contact,
notification choices; each audited with codes; nothing works with card data alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from idcard.statuslist import parse_status_document
from tests.factories import audit_trail
from tests.holder.helpers import (
    SmtpServer,
    deliver,
    holder_session,
    make_holder,
    smtp_server,
    smtp_settings,
)
from tests.redemption.helpers import Headers, make_partner

__all__ = ["smtp_server"]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def proof(holder: dict[str, Any]) -> dict[str, Any]:
    return {"card_number": holder["card_number"], "date_of_birth": holder["date_of_birth"],
            "issue_number": holder["issue_number"]}


def test_history_needs_a_session_not_card_data(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer,
        auth_header: Callable[[str], Headers]) -> None:
    holder = make_holder(runtime, email_address="history@mail.example")
    _, police = make_partner(client, auth_header("admin"), "police", "Precinct 84")
    client.post("/v1/verify", headers=police, json={"qr": holder["qr"],
                                                    "purpose": "identity_check"})
    refused = client.post("/v1/holder/history", json=proof(holder))
    assert (refused.status_code, refused.json()["code"]) == (403, "holder_code_required")
    assert "Precinct 84" not in refused.text
    forged = client.post("/v1/holder/history", json=proof(holder),
                         headers={"Authorization": "Bearer chs_made-up"})
    assert (forged.status_code, forged.json()["code"]) == (401, "holder_session_required")
    session = holder_session(client, runtime, smtp_server, holder)
    seen = client.post("/v1/holder/history", headers=session)
    assert seen.status_code == 200, seen.text
    assert [(e["partner"], e["event"]) for e in seen.json()] == [("Precinct 84", "verified")]


def test_every_holder_route_refuses_without_a_session(client: TestClient) -> None:
    for method, path, body in (
            ("GET", "/v1/holder/me", None), ("POST", "/v1/holder/card/lock", None),
            ("POST", "/v1/holder/card/replace", None), ("POST", "/v1/holder/card/renew", None),
            ("POST", "/v1/holder/contacts/email", {"value": "x@mail.example"}),
            ("POST", "/v1/holder/contacts/email/confirm", {"code": "123456"}),
            ("DELETE", "/v1/holder/contacts/email", None),
            ("PUT", "/v1/holder/notifications/card_ready", {"opted_in": True})):
        answer = client.request(method, path, json=body)
        assert (answer.status_code, answer.json()["code"]) == (401, "holder_session_required")


def test_a_lost_card_is_locked_online_at_once_and_in_the_status_list(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer,
        auth_header: Callable[[str], Headers]) -> None:
    holder = make_holder(runtime, email_address="lost@mail.example")
    _, museum = make_partner(client, auth_header("admin"), "cultural", "Museum")
    assert client.post("/v1/verify", headers=museum,
                       json={"qr": holder["qr"]}).json()["result"] == "valid"
    session = holder_session(client, runtime, smtp_server, holder)
    locked = client.post("/v1/holder/card/lock", headers=session)
    assert locked.status_code == 200, locked.text
    assert (locked.json()["card"]["status"], locked.json()["card"]["status_reason"]) == \
        ("suspended", "reported_lost")
    verdict = client.post("/v1/verify", headers=museum, json={"qr": holder["qr"]}).json()
    assert (verdict["result"], verdict["reason"]) == ("invalid", "suspended")
    jwks = client.get("/.well-known/cityid/jwks.json").json()
    published = parse_status_document(client.get("/.well-known/cityid/status-list").content,
                                      jwks)
    from cityid.db import unit_of_work
    from idcard import repository as card_repository

    with unit_of_work(runtime.sessions) as db:
        card = card_repository.get(db, __import__("uuid").UUID(holder["id"]))
        assert card is not None
        assert published.is_suspended(card.status_index)
    # Pressing twice is no error.
    assert client.post("/v1/holder/card/lock", headers=session).status_code == 200
    actions = [e.action for e in audit_trail(runtime) if e.role == "holder"]
    assert "card.suspended" in actions and "holder.card_locked" in actions


def test_a_locked_card_is_replaced_by_a_new_issue(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="replace@mail.example")
    session = holder_session(client, runtime, smtp_server, holder)
    early = client.post("/v1/holder/card/replace", headers=session)
    assert early.status_code == 409
    client.post("/v1/holder/card/lock", headers=session)
    replaced = client.post("/v1/holder/card/replace", headers=session)
    assert replaced.status_code == 200, replaced.text
    card = replaced.json()["card"]
    assert (card["issue_number"], card["status"], card["fulfilment"]) == (2, "active",
                                                                          "to_print")
    assert card["number_ends_with"] == holder["card_number"][-4:]


def test_renewal_only_inside_the_window(client: TestClient, runtime: Runtime,
                                        smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="renew@mail.example")
    session = holder_session(client, runtime, smtp_server, holder)
    me = client.get("/v1/holder/me", headers=session).json()
    assert me["card"]["can_renew"] is False
    closed = client.post("/v1/holder/card/renew", headers=session)
    assert (closed.status_code, closed.json()["code"]) == (409, "renewal_window_closed")
    opens = datetime.fromisoformat(me["card"]["renewal_opens_on"]).replace(tzinfo=UTC)
    runtime.clock.set(opens + timedelta(hours=12))
    session = holder_session(client, runtime, smtp_server, holder)
    renewed = client.post("/v1/holder/card/renew", headers=session)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["card"]["issue_number"] == 2
    assert renewed.json()["card"]["expires_on"] > me["card"]["expires_on"]


def test_a_new_email_is_confirmed_at_the_new_address_first(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="old@mail.example", languages=("ru",))
    session = holder_session(client, runtime, smtp_server, holder)
    started = client.post("/v1/holder/contacts/email", headers=session,
                          json={"value": "new.address@mail.example"})
    assert started.status_code == 202, started.text
    assert client.get("/v1/holder/me", headers=session).json()["email"] == "o•••@mail.example"
    deliver(runtime)
    assert smtp_server.inbox.recipients[-1] == ["new.address@mail.example"]
    assert smtp_server.inbox.messages[-1]["Content-Language"] == "ru"
    wrong = client.post("/v1/holder/contacts/email/confirm", headers=session,
                        json={"code": "000000" if smtp_server.inbox.last_code() != "000000"
                              else "111111"})
    assert wrong.status_code == 422
    confirmed = client.post("/v1/holder/contacts/email/confirm", headers=session,
                            json={"code": smtp_server.inbox.last_code()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "n•••@mail.example"
    # The next code goes to the new address.
    holder_session(client, runtime, smtp_server, holder)
    assert smtp_server.inbox.recipients[-1] == ["new.address@mail.example"]
    removed = client.delete("/v1/holder/contacts/email", headers=session)
    assert removed.status_code == 200 and removed.json()["email"] is None
    details = [e.detail for e in audit_trail(runtime) if e.action.startswith("holder.contact")]
    assert details == [{"channel": "email"}] * 3
    assert "new.address" not in str([e.detail for e in audit_trail(runtime)])


def test_a_bad_contact_is_refused(client: TestClient, runtime: Runtime,
                                  smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="bad@mail.example")
    session = holder_session(client, runtime, smtp_server, holder)
    refused = client.post("/v1/holder/contacts/sms", headers=session,
                          json={"value": "not a phone"})
    assert (refused.status_code, refused.json()["code"]) == (422, "contact_invalid")


def test_notification_choices(client: TestClient, runtime: Runtime,
                              smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="choices@mail.example")
    session = holder_session(client, runtime, smtp_server, holder)
    assert client.get("/v1/holder/me", headers=session).json()["notifications"] == {
        "card_ready": False, "card_mailed": False, "renewal_open": False}
    chosen = client.put("/v1/holder/notifications/renewal_open", headers=session,
                        json={"opted_in": True})
    assert chosen.json()["notifications"]["renewal_open"] is True
    fixed = client.put("/v1/holder/notifications/one_time_code", headers=session,
                       json={"opted_in": False})
    assert (fixed.status_code, fixed.json()["code"]) == (422, "notice_not_optional")
    [entry] = [e for e in audit_trail(runtime) if e.action == "holder.notice_choice"]
    assert entry.detail == {"kind": "renewal_open", "opted_in": True}


def test_a_session_expires(client: TestClient, runtime: Runtime,
                           smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="short@mail.example")
    session = holder_session(client, runtime, smtp_server, holder)
    runtime.clock.advance(timedelta(minutes=runtime.settings.holder_session_minutes))
    assert client.get("/v1/holder/me", headers=session).status_code == 401
