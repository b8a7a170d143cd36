"""One-time codes: one answer for an unknown card, no contact and a wrong date of birth; expiry;
single use; throttling per card and per client; a code works only for its own card; wrong
guesses burn it. Codes are read from the real local SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.factories import audit_trail
from tests.holder.helpers import SmtpServer, deliver, make_holder, smtp_server, smtp_settings

__all__ = ["smtp_server"]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, object]:
    return {**smtp_settings(smtp_server), "holder_codes_per_card_per_hour": 3,
            "holder_codes_per_client_per_hour": 6}


def ask(client: TestClient, card_number: str, date_of_birth: str,
        **headers: str) -> Any:
    return client.post("/v1/holder/codes", headers=headers,
                       json={"card_number": card_number, "date_of_birth": date_of_birth})


def code_for(client: TestClient, runtime: Runtime, smtp: SmtpServer,
             holder: dict[str, Any]) -> str:
    assert ask(client, holder["card_number"], holder["date_of_birth"]).status_code == 202
    assert deliver(runtime).sent == 1
    return smtp.inbox.last_code()


def exchange(client: TestClient, card_number: str, code: str) -> Any:
    return client.post("/v1/holder/sessions", json={"card_number": card_number, "code": code})


def test_unknown_card_no_contact_and_wrong_birth_date_get_the_one_answer(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    reached = make_holder(runtime, email_address="reached@mail.example")
    unreached = make_holder(runtime, first_name="Unreached")
    answers = [
        ask(client, reached["card_number"], reached["date_of_birth"]),
        ask(client, "4000000000000002", reached["date_of_birth"]),
        ask(client, unreached["card_number"], unreached["date_of_birth"]),
        ask(client, reached["card_number"], "1990-01-01"),
    ]
    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    assert "visit an enrollment centre" in answers[0].json()["detail"]
    assert deliver(runtime).sent == 1 and smtp_server.inbox.recipients == [
        ["reached@mail.example"]]
    outcomes = [e.detail["outcome"] for e in audit_trail(runtime)
                if e.action == "holder.code_requested"]
    assert outcomes == ["sent", "no_match", "no_contact", "no_match"]


def test_the_answer_is_in_the_language_asked_for(client: TestClient, runtime: Runtime) -> None:
    holder = make_holder(runtime)
    answer = ask(client, holder["card_number"], holder["date_of_birth"],
                 **{"Accept-Language": "ht"})
    assert answer.json()["lang"] == "ht" and "sant enskripsyon" in answer.json()["detail"]


def test_a_code_opens_one_session_once(client: TestClient, runtime: Runtime,
                                       smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="once@mail.example")
    code = code_for(client, runtime, smtp_server, holder)
    opened = exchange(client, holder["card_number"], code)
    assert opened.status_code == 201 and opened.json()["token"].startswith("chs_")
    again = exchange(client, holder["card_number"], code)
    assert (again.status_code, again.json()["code"]) == (422, "code_not_accepted")


def test_a_code_expires_after_its_minutes(client: TestClient, runtime: Runtime,
                                          smtp_server: SmtpServer) -> None:
    assert isinstance(runtime.clock, FixedClock)
    holder = make_holder(runtime, email_address="late@mail.example")
    code = code_for(client, runtime, smtp_server, holder)
    runtime.clock.advance(timedelta(minutes=runtime.settings.holder_code_minutes, seconds=1))
    assert exchange(client, holder["card_number"], code).json()["code"] == "code_not_accepted"


def test_a_code_for_one_card_does_not_open_another(
        client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> None:
    mine = make_holder(runtime, email_address="mine@mail.example")
    theirs = make_holder(runtime, email_address="theirs@mail.example", first_name="Other")
    my_code = code_for(client, runtime, smtp_server, mine)
    their_code = code_for(client, runtime, smtp_server, theirs)
    assert exchange(client, theirs["card_number"], my_code).status_code == 422
    assert exchange(client, mine["card_number"], their_code).status_code == 422
    assert exchange(client, mine["card_number"], my_code).status_code == 201


def test_wrong_guesses_burn_the_code(client: TestClient, runtime: Runtime,
                                     smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="guess@mail.example")
    code = code_for(client, runtime, smtp_server, holder)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(runtime.settings.holder_code_attempts):
        assert exchange(client, holder["card_number"], wrong).status_code == 422
    assert exchange(client, holder["card_number"], code).status_code == 422
    refusals = [e for e in audit_trail(runtime) if e.action == "holder.code_refused"]
    assert len(refusals) == runtime.settings.holder_code_attempts + 1


def test_asking_is_throttled_per_card(client: TestClient, runtime: Runtime) -> None:
    holder = make_holder(runtime, email_address="often@mail.example")
    for _ in range(3):
        assert ask(client, holder["card_number"], holder["date_of_birth"]).status_code == 202
    throttled = ask(client, holder["card_number"], "1990-01-01")
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    # An unknown number is counted the same way, so throttling tells nothing either.
    for _ in range(3):
        ask(client, "4000000000000002", "1990-01-01")


def test_asking_is_throttled_per_client(client: TestClient, runtime: Runtime) -> None:
    holder = make_holder(runtime)
    numbers = [f"40000000000000{n:02d}" for n in range(2, 7)] + [holder["card_number"]]
    assert [ask(client, n, "1990-01-01").status_code for n in numbers] == [202] * 6
    assert ask(client, holder["card_number"], holder["date_of_birth"]).status_code == 429
