"""New tables with personal data: the subpoena drill reads a dump and finds the outbox, the
codes and the holder sessions hold only ciphertext and keyed hashes; what is past its time is
deleted (codes, sessions, expired messages); a resident's purge takes their rows with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from holder import codes
from holder.models import HolderCode, HolderSession
from notifications.models import OutboxMessage
from oversight import drill
from tests.holder.helpers import make_holder, outbox_size, session_for

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
CANARIES = ["drill.old@mail.example", "drill.new@mail.example", "+1 718 555 0199"]


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


def _waiting_world(client: TestClient, runtime: Runtime) -> None:
    holder = make_holder(runtime, email_address=CANARIES[0], phone=CANARIES[2])
    client.post("/v1/holder/codes", json={"card_number": holder["card_number"],
                                          "date_of_birth": holder["date_of_birth"]})
    session = session_for(client, runtime, holder)
    started = client.post("/v1/holder/contacts/email", headers=session,
                          json={"value": CANARIES[1]})
    assert started.status_code == 202, started.text


def test_the_drill_finds_only_ciphertext_and_hashes_in_the_new_tables(
        client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    _waiting_world(client, runtime)
    assert outbox_size(runtime) == 2  # the sign-in code and the new contact's code, unsent
    runtime.engine.dispose()
    dump = drill.dump_database(runtime.settings.effective_database_url, tmp_path / "dump")
    report = drill.analyse(drill.read_dump(dump), source=str(dump), canaries=CANARIES)
    assert report.clean, report.render()
    columns = {f"{c.table}.{c.column}": c for c in report.columns}
    for sealed in ("notification_outbox.params_enc", "notification_outbox.recipient_enc",
                   "holder_codes.new_contact_enc"):
        assert columns[sealed].sealed >= 1, sealed
    for hashed in ("holder_codes.code_hash", "holder_sessions.token_hash",
                   "holder_codes.card_number_index"):
        assert columns[hashed].classification.startswith("keyed"), (
            hashed, columns[hashed].classification)


def test_expired_codes_and_sessions_are_deleted(client: TestClient, runtime: Runtime) -> None:
    assert isinstance(runtime.clock, FixedClock)
    _waiting_world(client, runtime)
    runtime.clock.advance(timedelta(minutes=runtime.settings.holder_session_minutes + 1))
    with unit_of_work(runtime.sessions) as session:
        assert codes.purge_expired(session, now=runtime.clock.now()) == (3, 1)
    with unit_of_work(runtime.sessions) as session:
        assert session.query(HolderCode).count() == 0
        assert session.query(HolderSession).count() == 0


def test_a_residents_purge_takes_their_messages_codes_and_sessions(
        client: TestClient, runtime: Runtime) -> None:
    _waiting_world(client, runtime)
    from enrollment.models import Resident

    with unit_of_work(runtime.sessions) as session:
        for resident in session.query(Resident).all():
            session.delete(resident)
    with unit_of_work(runtime.sessions) as session:
        assert session.query(OutboxMessage).count() == 0
        assert session.query(HolderCode).count() == 0
        assert session.query(HolderSession).count() == 0
