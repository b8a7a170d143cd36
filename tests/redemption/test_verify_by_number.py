"""Verification by card number and date of birth is no oracle: an unknown number and a wrong date
of birth do the same work and give the same answer, the number is throttled across partners, and
failed attempts are audited with codes only."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from privacy import vault as vault_module
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_benefit, make_cardholder, make_partner

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
UNKNOWN_NUMBER = "4000000000000002"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"verify_by_number_per_card_per_hour": 3}


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def holder(runtime: Runtime) -> dict[str, Any]:
    return make_cardholder(runtime)


def by_number(client: TestClient, key: Headers, number: str, born: str) -> Any:
    return client.post("/v1/verify", headers=key,
                       json={"card_number": number, "date_of_birth": born})


@contextmanager
def work_done(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts what a request does: SQL statements by kind, key unwraps, field decryptions."""
    done: Counter[str] = Counter()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if threading.current_thread().name != "audit-chainer":  # not the request's work
            done["sql " + " ".join(sql.split()[:4])] += 1

    unwrap, open_field = vault_module.unwrap_dek, vault_module.RecordCipher.open

    def counted_unwrap(*args: Any) -> bytes:
        done["unwrap"] += 1
        return unwrap(*args)

    def counted_open(self: vault_module.RecordCipher, column: str, blob: bytes) -> bytes:
        done[f"decrypt {column}"] += 1
        return open_field(self, column, blob)

    monkeypatch.setattr(vault_module, "unwrap_dek", counted_unwrap)
    monkeypatch.setattr(vault_module.RecordCipher, "open", counted_open)
    event.listen(runtime.engine, "before_cursor_execute", statement)
    try:
        yield done
    finally:
        event.remove(runtime.engine, "before_cursor_execute", statement)
        monkeypatch.undo()


def test_an_unknown_number_and_a_wrong_birth_date_do_the_same_work(
        client: TestClient, admin: Headers, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    other = make_cardholder(runtime, first_name="Alinta")
    wrong = make_cardholder(runtime, first_name="Bartholomew")
    _, bank = make_partner(client, admin, "bank")
    # First requests settle what only the first ones do (the key's last use is noted, the
    # vault makes its decoy).
    by_number(client, bank, other["card_number"], other["date_of_birth"])
    by_number(client, bank, UNKNOWN_NUMBER, other["date_of_birth"])
    with work_done(runtime, monkeypatch) as unknown_work:
        unknown = by_number(client, bank, UNKNOWN_NUMBER, "1987-03-14")
    with work_done(runtime, monkeypatch) as mismatch_work:
        mismatch = by_number(client, bank, wrong["card_number"], "1990-01-01")
    assert unknown.status_code == mismatch.status_code == 404
    assert unknown.json() == mismatch.json()
    assert unknown_work["unwrap"] == mismatch_work["unwrap"] == 1
    assert unknown_work["decrypt date_of_birth"] == mismatch_work["decrypt date_of_birth"] == 1
    assert unknown_work == mismatch_work


def test_checks_of_one_card_number_are_throttled_whoever_asks(
        client: TestClient, admin: Headers, holder: dict[str, Any], runtime: Runtime) -> None:
    _, bank = make_partner(client, admin, "bank", "First Community Bank")
    _, credit_union = make_partner(client, admin, "credit_union", "Neighbours Credit Union")
    for guess in ("1990-01-01", "1990-01-02"):
        assert by_number(client, bank, holder["card_number"], guess).status_code == 404
    assert by_number(client, credit_union, holder["card_number"], "1990-01-03").status_code == 404
    # The limit (3 an hour here) is spent: even the right date of birth is not checked now.
    throttled = by_number(client, bank, holder["card_number"], holder["date_of_birth"])
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "card_number_throttled"
    assert int(throttled.headers["retry-after"]) > 0
    # The QR is not throttled by number, and another card's number is still answered.
    assert client.post("/v1/verify", headers=bank, json={"qr": holder["qr"]}).json()[
        "result"] == "valid"
    assert by_number(client, bank, UNKNOWN_NUMBER, "1990-01-01").status_code == 404


def test_redeeming_by_number_counts_against_the_same_throttle(
        client: TestClient, admin: Headers, holder: dict[str, Any]) -> None:
    partner, museum = make_partner(client, admin, "cultural", "City Museum")
    benefit = make_benefit(client, admin, partner["id"], START.date())
    for n, guess in enumerate(("1990-01-01", "1990-01-02", "1990-01-03", "1990-01-04")):
        answer = client.post("/v1/redemptions",
                             headers={**museum, "Idempotency-Key": f"guess-000{n}"},
                             json={"benefit_id": benefit["id"],
                                   "card_number": holder["card_number"],
                                   "date_of_birth": guess})
        assert answer.status_code == (404 if n < 3 else 429), answer.text


def test_failed_checks_by_number_are_audited_with_codes_only(
        client: TestClient, admin: Headers, holder: dict[str, Any], runtime: Runtime) -> None:
    _, bank = make_partner(client, admin, "bank")
    by_number(client, bank, holder["card_number"], "1990-01-01")
    by_number(client, bank, UNKNOWN_NUMBER, "1990-01-01")
    by_number(client, bank, holder["card_number"], "1990-01-02")
    by_number(client, bank, holder["card_number"], "1990-01-03")
    by_number(client, bank, holder["card_number"], holder["date_of_birth"])  # throttled
    failed = [e for e in audit_trail(runtime) if e.action == "card.verify_failed"]
    assert [e.detail["reason"] for e in failed] == ["card_not_found"] * 4 + [
        "card_number_throttled"]
    assert all(e.detail["by"] == "number" and e.actor.startswith("partner:") for e in failed)
    # A wrong date of birth for a real card is about that resident; an unknown number is
    # about no one.
    subjects = [e.subject for e in failed]
    assert subjects[1] is None and subjects[0] == subjects[2] == subjects[3] is not None
    text = str([(e.purpose, e.detail) for e in failed])
    assert holder["card_number"] not in text and "1990-01-0" not in text
