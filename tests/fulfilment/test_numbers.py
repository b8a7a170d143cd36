"""The operating numbers over a seeded database of 100,000 applications, with the clock fixed:
the weekly counts, the medians and 90th percentiles, denials, returns and their suppression."""

from __future__ import annotations

import csv
import io
import math
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from enrollment.models import Application, Resident
from fulfilment.models import CardFulfilment
from idcard.models import Card

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
LAST_MONDAY = date(2026, 11, 2)
START = LAST_MONDAY - timedelta(weeks=12)
UNTIL = datetime(2026, 11, 2, tzinfo=UTC)  # what is decided later is not in the window yet
APPLICATIONS = 100_000
REASONS = ("insufficient_documents", "not_a_city_resident", "applicant_withdrew")


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def seed(runtime: Runtime) -> dict[str, Any]:
    """Rows written with bulk Core inserts: the report reads no sealed field, so the sealed
    columns hold filler. Returns what the report should find, computed here independently."""
    resident = uuid.uuid4()
    first_moment = datetime(START.year, START.month, START.day, tzinfo=UTC)
    span = int((timedelta(weeks=12)).total_seconds())
    applications: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    fulfilments: list[dict[str, Any]] = []
    by_state: Counter[tuple[str, str]] = Counter()
    denials: Counter[str] = Counter()
    to_decision: list[float] = []
    in_hand: dict[str, list[float]] = {"main": [], "bronx_hub": []}
    returned: Counter[str] = Counter()
    for i in range(APPLICATIONS):
        created = first_moment + timedelta(seconds=(i * 7919) % span)
        kind = i % 10
        status = ("card_issued" if kind < 6 else "denied" if kind < 8 else
                  "in_review" if kind == 8 else "draft")
        if i < 3:
            status = "needs_documents"  # three cases: a cell that must be withheld
        decided = created + timedelta(hours=1 + i % 97) if status in ("card_issued",
                                                                       "denied") else None
        reason = REASONS[i % 3] if status == "denied" else (
            "rulebook_satisfied" if status == "card_issued" else None)
        application_id = uuid.uuid4()
        applications.append({
            "id": application_id, "resident_id": resident, "reference_index": uuid.uuid4().hex,
            "reference_enc": b"x", "status": status, "delivery": "mail", "created_by": "seed",
            "created_at": created, "updated_at": decided or created, "decided_by": None,
            "decided_at": decided, "decision_reason": reason, "rulebook_override": False})
        week = (created.date() - timedelta(days=created.weekday())).isoformat()
        by_state[(week, status)] += 1
        if status == "denied":
            denials[str(reason)] += 1
        if decided is not None and decided < UNTIL:
            to_decision.append((decided - created).total_seconds() / 3600)
        if status == "card_issued" and i % 20 == 0:  # 5,000 cards through fulfilment
            assert decided is not None
            card_id = uuid.uuid4()
            site = "main" if i % 40 == 0 else "bronx_hub"
            cards.append({
                "id": card_id, "resident_id": resident, "application_id": application_id,
                "card_number_index": uuid.uuid4().hex, "card_number_enc": b"x",
                "issue_number": 1, "status": "active", "status_index": len(cards),
                "kid": "seed-kid", "issued_at": decided, "valid_from": decided.date(),
                "expires_on": decided.date() + timedelta(days=1800), "credential_enc": b"x",
                "fulfilment": "picked_up"})
            mailed = decided + timedelta(days=2)
            # Many returns at main, a handful (a withheld cell) at bronx_hub.
            back = (site == "main" and i % 1000 == 0) or (site == "bronx_hub"
                                                          and i % 20_000 == 20)
            picked = mailed + timedelta(days=3 + i % 11) if back or i % 60 == 0 else None
            fulfilments.append({
                "card_id": card_id, "site_code": site, "queued_at": decided,
                "mailed_at": mailed, "returned_at": mailed + timedelta(days=1) if back else None,
                "picked_up_at": picked, "updated_at": picked or mailed})
            if back and mailed + timedelta(days=1) < UNTIL:
                returned[site] += 1
            done = picked or (mailed if not back else None)
            if done is not None and done < UNTIL:
                in_hand[site].append((done - created).total_seconds() / 3600)
    # Applied this week, still under way: in no figure.
    applications.append({
        "id": uuid.uuid4(), "resident_id": resident, "reference_index": uuid.uuid4().hex,
        "reference_enc": b"x", "status": "submitted", "delivery": "mail", "created_by": "seed",
        "created_at": NOW - timedelta(hours=1), "updated_at": NOW, "rulebook_override": False})
    with runtime.engine.begin() as conn:
        conn.execute(insert(Resident), [{
            "id": resident, "first_name_enc": b"x", "last_name_enc": b"x",
            "date_of_birth_enc": b"x", "created_at": first_moment}])
        for chunk in range(0, len(applications), 20_000):
            conn.execute(insert(Application), applications[chunk:chunk + 20_000])
        conn.execute(insert(Card), cards)
        conn.execute(insert(CardFulfilment), fulfilments)
    return {"by_state": by_state, "denials": denials, "to_decision": to_decision,
            "in_hand": in_hand, "returned": returned}


def test_the_numbers_of_100000_applications_and_their_suppression(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], dict[str, str]]
        ) -> None:
    expected = seed(runtime)
    auditor = auth_header("auditor")
    response = client.get("/v1/reports/operations", headers=auditor)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["from_date"] == START.isoformat() and report["to_date"] == "2026-11-02"
    assert len(report["weeks"]) == 12

    cells = {(c["key"]["week"], c["key"]["state"]): c
             for c in report["applications_by_state_and_week"]}
    assert set(cells) == set(expected["by_state"])  # nothing from the week under way
    for key, count in expected["by_state"].items():
        if count < 10:
            assert cells[key] == {"key": {"week": key[0], "state": key[1]}, "count": None,
                                  "suppressed": True}
        else:
            assert cells[key]["count"] == count
    assert any(c["suppressed"] for c in cells.values())
    assert sum(c["count"] or 0 for c in cells.values()) == APPLICATIONS - 3

    decision = report["time_to_decision"][0]
    assert decision["n"] == len(expected["to_decision"]) > 75_000
    assert decision["median_hours"] == round(statistics.median(expected["to_decision"]), 1)
    assert decision["p90_hours"] == round(p90(expected["to_decision"]), 1)

    in_hand = {d["key"]["site"]: d for d in report["time_to_card_in_hand"]}
    for site, hours in expected["in_hand"].items():
        assert in_hand[site]["n"] == len(hours)
        assert in_hand[site]["median_hours"] == round(statistics.median(hours), 1)
        assert in_hand[site]["p90_hours"] == round(p90(hours), 1)
    assert in_hand["all"]["n"] == sum(len(h) for h in expected["in_hand"].values())

    assert {c["key"]["reason"]: c["count"] for c in report["denials_by_reason"]} == \
        dict(expected["denials"])
    returned = {c["key"]["site"]: c for c in report["undeliverable_by_site"]}
    assert returned["main"]["count"] == expected["returned"]["main"] >= 10
    assert 0 < expected["returned"]["bronx_hub"] < 10
    assert returned["bronx_hub"] == {"key": {"site": "bronx_hub"}, "count": None,
                                     "suppressed": True}

    table = client.get("/v1/reports/operations.csv", headers=auditor)
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    withheld = [r for r in rows if r["table"] == "undeliverable_by_site"
                and r["site"] == "bronx_hub"]
    assert withheld == [{**withheld[0], "count": "", "suppressed": "yes"}]
    assert client.get("/v1/reports/operations", headers=auth_header("clerk")).status_code == 403


def test_a_week_with_few_applications_withholds_its_durations_too(
        client: TestClient, auth_header: Callable[[str], dict[str, str]]) -> None:
    report = client.get("/v1/reports/operations?weeks=2", headers=auth_header("admin")).json()
    assert report["applications_by_state_and_week"] == []
    assert report["time_to_decision"] == [{"key": {}, "n": None, "median_hours": None,
                                           "p90_hours": None, "suppressed": True}]
