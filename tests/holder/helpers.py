"""Builders for holder self-service tests: a cardholder with a contact on file and a language,
a real local SMTP server (aiosmtpd) whose inbox the tests read, and the outbox worker."""

from __future__ import annotations

import contextlib
import email
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import repository as enrollment_repository
from notifications.service import NoticeDesk
from notifications.transports import transports_for
from notifications.worker import DeliveryReport, deliver_due
from tests.redemption.helpers import make_cardholder

# Not \b: in Korean the code runs into the word after it.
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass
class Inbox:
    """What the local SMTP server received; ``fail`` answers that many messages with 451."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    fail: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail > 0:
            self.fail -= 1
            return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def last_code(self) -> str:
        found = CODE.search(self.messages[-1].get_content())
        assert found, "the message holds no code"
        return found.group(0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    server = SmtpServer(inbox, port, controller)
    yield server
    with contextlib.suppress(AssertionError):  # a test may have stopped it already
        server.controller.stop()


def smtp_settings(server: SmtpServer) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": server.port,
            "smtp_sender": "City ID <no-reply@id.city.example>"}


def make_holder(runtime: Runtime, *, email_address: str | None = None,
                phone: str | None = None, languages: tuple[str, ...] = (),
                first_name: str = "Zephyrine",
                date_of_birth: date = date(1987, 3, 14)) -> dict[str, Any]:
    """A resident with an active card, and the given contacts and preferred languages."""
    holder = make_cardholder(runtime, first_name, date_of_birth)
    with unit_of_work(runtime.sessions) as session:
        resident = enrollment_repository.get_resident(session, holder["resident_id"])
        assert resident is not None
        person = runtime.vault.open_data_key(session, resident.id).record("residents",
                                                                         resident.id)
        resident.email_enc = person.seal_text("email", email_address)
        resident.phone_enc = person.seal_text("phone", phone)
        designations = person.open_json("designations", resident.designations_enc) or {}
        designations["languages"] = list(languages)
        resident.designations_enc = person.seal_json("designations", designations)
    return {**holder, "first_name": first_name, "email": email_address, "phone": phone}


def deliver(runtime: Runtime) -> DeliveryReport:
    return deliver_due(runtime.sessions, desk=NoticeDesk(runtime.vault, runtime.clock),
                       transports=transports_for(runtime.settings))


def outbox_size(runtime: Runtime) -> int:
    from notifications import repository

    with unit_of_work(runtime.sessions) as session:
        return len(repository.waiting(session))


def holder_session(client: Any, runtime: Runtime, smtp: SmtpServer,
                   holder: dict[str, Any]) -> dict[str, str]:
    """Asks for a code through the API, reads it from the SMTP server, opens a holder session;
    returns its Authorization header."""
    asked = client.post("/v1/holder/codes", json={"card_number": holder["card_number"],
                                                  "date_of_birth": holder["date_of_birth"]})
    assert asked.status_code == 202, asked.text
    assert deliver(runtime).sent >= 1
    opened = client.post("/v1/holder/sessions", json={"card_number": holder["card_number"],
                                                      "code": smtp.inbox.last_code()})
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}


def session_for(client: Any, runtime: Runtime, holder: dict[str, Any]) -> dict[str, str]:
    """A holder session without the mail round trip: an e-mail on file, a code issued by the
    service, exchanged through the API. For tests about something else."""
    from holder import codes
    from idcard import service as cards

    with unit_of_work(runtime.sessions) as session:
        resident = enrollment_repository.get_resident(session, holder["resident_id"])
        assert resident is not None
        if resident.email_enc is None:
            person = runtime.vault.open_data_key(session, resident.id).record("residents",
                                                                             resident.id)
            resident.email_enc = person.seal_text("email", "holder@mail.example")
        code, _ = codes.issue_code(session, runtime.holder, resident_id=resident.id,
                                   number_index=cards.number_index(runtime.cards,
                                                                   holder["card_number"]),
                                   purpose=codes.SIGN_IN)
    opened = client.post("/v1/holder/sessions", json={"card_number": holder["card_number"],
                                                      "code": code})
    assert opened.status_code == 201, opened.text
    return {"Authorization": f"Bearer {opened.json()['token']}"}
