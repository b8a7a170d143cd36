"""The lean redemption route (api/lean_redeem.py) and the normal route give the same answers,
make the same ledger rows and write the same audit entries, case by case; concurrent scans and
retries through it redeem once; a connection dropped mid-transaction is rerun once or answered
with a clear 503, never a 500, a second redemption or one without its audit entry.

Two apps share one runtime and database: one with the lean routes, one with them off. On SQLite
the lean routes are off in both (they serve PostgreSQL only), so the table checks the normal
route against itself there; on PostgreSQL it also counts what the lean route answered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.lean import lean_of
from api.runtime import Runtime
from cityid.db import unit_of_work
from redemption import hot_repository
from redemption.hot_ledger import HotLedger
from redemption.models import Redemption
from tests.conftest import BACKEND
from tests.factories import audit_trail
from tests.redemption.helpers import (
    Headers,
    kill_hot_connections,
    make_benefit,
    make_cardholder,
    make_partner,
)

PATH = "/v1/redemptions"


def _answered(app: FastAPI) -> int:
    lean = lean_of(app)
    assert lean is not None
    return lean.answered_by.get(PATH, 0)


def _set_card(runtime: Runtime, card_id: str, assignment: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(f"UPDATE cards SET {assignment} WHERE id = :id"),
                     {"id": card_id if BACKEND == "postgresql" else card_id.replace("-", "")})


def _rows(runtime: Runtime, benefit_ids: set[str]) -> list[tuple[Any, ...]]:
    with unit_of_work(runtime.sessions) as session:
        rows = session.scalars(select(Redemption).order_by(Redemption.redeemed_at)).all()
        return [(r.partner_id, r.resident_id, r.card_id, r.period_key, r.slot, r.voided_at)
                for r in rows if str(r.benefit_id) in benefit_ids]


def _entries(trail: list[Any], receipts: dict[str, str], benefits: dict[str, str]
             ) -> list[tuple[Any, ...]]:
    out = []
    for entry in trail:
        detail = dict(entry.detail)
        detail["receipt"] = receipts.get(detail.get("receipt", ""), detail.get("receipt"))
        detail["benefit"] = benefits.get(detail.get("benefit", ""), detail.get("benefit"))
        out.append((entry.actor, entry.role, entry.action, entry.subject, entry.purpose, detail))
    return out


def _normal_form(body: Any, receipts: dict[str, str], benefits: dict[str, str]) -> Any:
    """A body with what is random per row (ids, receipt numbers, timestamps) named by order."""
    if not isinstance(body, dict) or "receipt_number" not in body:
        return body
    out = dict(body)
    out["id"] = "id"
    out["receipt_number"] = receipts.setdefault(body["receipt_number"], f"R{len(receipts)}")
    out["benefit_id"] = benefits.get(body["benefit_id"], body["benefit_id"])
    out["redeemed_at"] = "when"
    return out


# Each case: the benefit's fields, then the steps -- (which benefit, which card, key or None).
CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str, str | None]]]] = {
    "redeemed": ({}, [("own", "live", "k1")]),
    "retry with the same key": ({}, [("own", "live", "k1"), ("own", "live", "k1")]),
    "same key, another body": ({}, [("own", "live", "k1"), ("second", "live", "k1")]),
    "limit reached": ({}, [("own", "live", "k1"), ("own", "live", "k2")]),
    "twice a month": ({"limit": {"count": 2, "period": "calendar_month"}},
                      [("own", "live", "k1"), ("own", "live", "k2"), ("own", "live", "k3")]),
    "rolling window": ({"limit": {"count": 1, "period": "rolling_days", "days": 30}},
                       [("own", "live", "k1"), ("own", "live", "k2")]),
    "membership": ({"category": "membership", "limit": None, "membership_days": 90},
                   [("own", "live", "k1"), ("own", "live", "k2")]),
    "benefit not active yet": ({"active_from": "+5"}, [("own", "live", "k1")]),
    "another partner's benefit": ({}, [("foreign", "live", "k1")]),
    "no such benefit": ({}, [("missing", "live", "k1")]),
    "suspended card": ({}, [("own", "suspended", "k1")]),
    "revoked card": ({}, [("own", "revoked", "k1")]),
    "expired card": ({}, [("own", "expired", "k1")]),
    "card no longer on record": ({}, [("own", "gone", "k1")]),
    "not a card": ({}, [("own", "unreadable", "k1")]),
    "no Idempotency-Key": ({}, [("own", "live", None)]),
    "Idempotency-Key too short": ({}, [("own", "live", "short")]),
}
# How many of each case's steps the lean route answers itself on PostgreSQL: what it hands
# over (a replay seen before the transaction, anything refused before it) the normal route does.
LEAN_ANSWERS = {"redeemed": 1, "retry with the same key": 1, "same key, another body": 1,
                "limit reached": 2, "twice a month": 3, "rolling window": 2, "membership": 2}


def test_lean_and_normal_redemptions_answer_record_and_audit_alike(
        client: TestClient, normal_client: TestClient, app: FastAPI, admin: Headers,
        runtime: Runtime) -> None:
    today = runtime.clock.today()
    partner, key = make_partner(client, admin, "cultural", name="Ledger Museum")
    other, _ = make_partner(client, admin, "library", name="Ledger Library")
    cards = {"live": make_cardholder(runtime, "Ottoline")}
    for name, assignment in (("suspended", "status = 'suspended'"),
                             ("revoked", "status = 'revoked'"),
                             ("expired", f"expires_on = '{today - timedelta(days=1)}'"),
                             ("gone", "issue_number = 77")):
        cards[name] = make_cardholder(runtime, name.title())
        _set_card(runtime, cards[name]["id"], assignment)
    answered = 0
    for number, (case, (fields, steps)) in enumerate(CASES.items()):
        results = []
        for run, which in enumerate((client, normal_client)):
            extra = dict(fields)
            if extra.get("active_from") == "+5":
                extra["active_from"] = (today + timedelta(days=5)).isoformat()
            benefits = {"own": make_benefit(client, admin, partner["id"], today, **extra),
                        "second": make_benefit(client, admin, partner["id"], today,
                                               name="Audio guide"),
                        "foreign": make_benefit(client, admin, other["id"], today)}
            ids = {"own": benefits["own"]["id"], "second": benefits["second"]["id"],
                   "foreign": benefits["foreign"]["id"], "missing": str(uuid.uuid4())}
            names = {ids[k]: k for k in ids}
            receipts: dict[str, str] = {}
            before = len(audit_trail(runtime))
            answered_before = _answered(app)
            answers = []
            for benefit, card, idem in steps:
                qr = cards[card]["qr"] if card != "unreadable" else "this is not a card"
                headers = dict(key)
                if idem is not None:
                    headers["Idempotency-Key"] = (f"case{number}-run{run}-{idem}"
                                                  if idem != "short" else "short")
                response = which.post(PATH, headers=headers,
                                      json={"qr": qr, "benefit_id": ids[benefit]})
                answers.append((response.status_code, response.headers.get("cache-control"),
                                _normal_form(response.json(), receipts, names)))
            if which is client:
                answered += _answered(app) - answered_before
            results.append((answers, _entries(audit_trail(runtime)[before:], receipts, names),
                            _rows(runtime, {ids["own"], ids["second"]})))
        lean, normal = results
        assert lean[0] == normal[0], case
        assert lean[1] == normal[1], case
        assert lean[2] == normal[2], case
        assert all(cache == "no-store" for _, cache, _ in lean[0]), case
    expected = sum(LEAN_ANSWERS.values()) if BACKEND == "postgresql" else 0
    assert answered == expected


def test_the_outcomes_the_table_covers(client: TestClient, admin: Headers,
                                       runtime: Runtime) -> None:
    # The table above compares two routes; this pins what they both answer.
    partner, key = make_partner(client, admin, "cultural", name="Pinned Museum")
    holder = make_cardholder(runtime)
    benefit = make_benefit(client, admin, partner["id"], runtime.clock.today(),
                           category="membership", limit=None, membership_days=90)
    first = client.post(PATH, headers={**key, "Idempotency-Key": "pinned-one"},
                        json={"qr": holder["qr"], "benefit_id": benefit["id"]})
    assert first.status_code == 200, first.text
    assert first.json()["member_until"] == (runtime.clock.today()
                                            + timedelta(days=90)).isoformat()
    again = client.post(PATH, headers={**key, "Idempotency-Key": "pinned-two"},
                        json={"qr": holder["qr"], "benefit_id": benefit["id"]})
    assert again.status_code == 409 and again.json()["code"] == "already_redeemed"
    retry = client.post(PATH, headers={**key, "Idempotency-Key": "pinned-one"},
                        json={"qr": holder["qr"], "benefit_id": benefit["id"]})
    assert retry.status_code == 200 and retry.text == first.text


pg_only = pytest.mark.skipif(BACKEND != "postgresql",
                             reason="the lean redemption route serves PostgreSQL")


def _count(runtime: Runtime, benefit_id: str) -> int:
    return len(_rows(runtime, {benefit_id}))


def _redeemed_entries(runtime: Runtime) -> int:
    return sum(1 for e in audit_trail(runtime) if e.action == "benefit.redeemed")


@pg_only
def test_concurrent_scans_and_retries_through_the_lean_route_redeem_once(
        client: TestClient, app: FastAPI, admin: Headers, runtime: Runtime) -> None:
    partner, key = make_partner(client, admin, "cultural", name="Rush Museum")
    holder = make_cardholder(runtime)
    once = make_benefit(client, admin, partner["id"], runtime.clock.today())
    retried = make_benefit(client, admin, partner["id"], runtime.clock.today(), name="Guide")
    before = _answered(app)
    entries_before = _redeemed_entries(runtime)

    def scan(n: int, benefit: dict[str, Any], idem: Callable[[int], str]) -> Any:
        return client.post(PATH, headers={**key, "Idempotency-Key": idem(n)},
                           json={"qr": holder["qr"], "benefit_id": benefit["id"]})

    with ThreadPoolExecutor(max_workers=30) as pool:
        distinct = list(pool.map(lambda n: scan(n, once, lambda i: f"rush-key-{i:04d}"),
                                 range(30)))
        same = list(pool.map(lambda n: scan(n, retried, lambda i: "one-retried-key"),
                             range(30)))
    assert sorted(r.status_code for r in distinct) == [200] + [409] * 29
    assert {r.json()["code"] for r in distinct if r.status_code == 409} == {"already_redeemed"}
    assert [r.status_code for r in same] == [200] * 30 and len({r.text for r in same}) == 1
    assert _count(runtime, once["id"]) == 1 and _count(runtime, retried["id"]) == 1
    assert _redeemed_entries(runtime) == entries_before + 2
    assert _answered(app) - before >= 30  # the lean route answered at least the 30 distinct


@pg_only
def test_a_connection_dropped_mid_transaction_is_rerun_once_and_redeems_once(
        client: TestClient, app: FastAPI, admin: Headers, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    partner, key = make_partner(client, admin, "cultural", name="Cut Museum")
    holder = make_cardholder(runtime)
    benefit = make_benefit(client, admin, partner["id"], runtime.clock.today())
    original = HotLedger.decide
    cuts: list[int] = []

    def cut_once(self: HotLedger, *args: Any, **kwargs: Any) -> Any:
        # Under the holder's lock, before the row and its entry are sent: the link dies.
        if not cuts:
            cuts.append(kill_hot_connections(runtime))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HotLedger, "decide", cut_once)
    entries_before = _redeemed_entries(runtime)
    before = _answered(app)
    response = client.post(PATH, headers={**key, "Idempotency-Key": "cut-key-0001"},
                           json={"qr": holder["qr"], "benefit_id": benefit["id"]})
    assert response.status_code == 200, response.text
    assert cuts and cuts[0] >= 1  # a connection really was cut
    assert _answered(app) == before + 1
    assert _count(runtime, benefit["id"]) == 1
    assert _redeemed_entries(runtime) == entries_before + 1


@pg_only
def test_a_database_that_stays_away_mid_redemption_is_a_503_and_nothing_is_written(
        client: TestClient, admin: Headers, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    partner, key = make_partner(client, admin, "cultural", name="Gone Museum")
    holder = make_cardholder(runtime)
    benefit = make_benefit(client, admin, partner["id"], runtime.clock.today())
    original = HotLedger.decide

    async def refused(_self: Any) -> Any:
        raise psycopg.OperationalError("connection refused")

    def cut(self: HotLedger, *args: Any, **kwargs: Any) -> Any:
        kill_hot_connections(runtime)
        monkeypatch.setattr(hot_repository.HotDatabase, "_connect", refused)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HotLedger, "decide", cut)
    entries_before = _redeemed_entries(runtime)
    response = client.post(PATH, headers={**key, "Idempotency-Key": "gone-key-0001"},
                           json={"qr": holder["qr"], "benefit_id": benefit["id"]})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "2"
    assert "receipt_number" not in response.text
    monkeypatch.undo()
    assert _count(runtime, benefit["id"]) == 0
    assert _redeemed_entries(runtime) == entries_before


@pg_only
def test_a_same_key_row_committed_first_rolls_the_lean_redemption_back_whole(
        client: TestClient, normal_client: TestClient, app: FastAPI, admin: Headers,
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    partner, key = make_partner(client, admin, "cultural", name="Race Museum")
    holder = make_cardholder(runtime)
    first = make_benefit(client, admin, partner["id"], runtime.clock.today())
    second = make_benefit(client, admin, partner["id"], runtime.clock.today(), name="Guide")
    headers = {**key, "Idempotency-Key": "raced-key-0001"}
    original = HotLedger.decide
    raced: list[int] = []

    def race(self: HotLedger, *args: Any, **kwargs: Any) -> Any:
        # Under this request's lock on (first, holder): the same key, with another body,
        # commits through the normal route, which locks (second, holder) and does not wait.
        if not raced:
            other = normal_client.post(PATH, headers=headers,
                                       json={"qr": holder["qr"], "benefit_id": second["id"]})
            raced.append(other.status_code)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(HotLedger, "decide", race)
    entries_before = _redeemed_entries(runtime)
    before = _answered(app)
    response = client.post(PATH, headers=headers,
                           json={"qr": holder["qr"], "benefit_id": first["id"]})
    assert raced == [200]
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "idempotency_conflict"
    assert _answered(app) == before + 1  # answered by the lean route, after its rollback
    assert _count(runtime, first["id"]) == 0 and _count(runtime, second["id"]) == 1
    assert _redeemed_entries(runtime) == entries_before + 1  # the normal route's, only
