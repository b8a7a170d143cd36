"""Fees and waivers through the HTTP API and the database, on SQLite and PostgreSQL: the fee
computed when a card is issued, replaced or renewed (by kind and age band on the decision date,
from the schedule in force), the desk recording it as paid or waived, its refusals, what the
table holds, and the administrators' totals with small cells withheld."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from fees import report, repository
from fees import schedule as fee_schedule
from privacy.audit import Actor
from tests.conftest import all_table_text
from tests.enrollment.test_workflow import ready_for_decision
from tests.factories import KNOWN_LAST, audit_trail
from tests.fees.test_schedule import SHIPPED, commented_example

Headers = dict[str, str]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
# Each applicant a different person, so no duplicate check holds an approval up.
FIRST_NAMES = (f"Payer{n}" for n in itertools.count())


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


@pytest.fixture
def san_francisco(monkeypatch: pytest.MonkeyPatch) -> None:
    """The city changed its schedule: $15, or $5 for youth and seniors (the file's example)."""
    changed = fee_schedule.parse_schedule(commented_example(SHIPPED))
    monkeypatch.setattr(fee_schedule, "schedule", lambda: changed)


def born_aged(years: int, *, days_after: int = 0) -> str:
    return (START.date().replace(year=START.year - years) + timedelta(days=days_after)).isoformat()


def issued(client: TestClient, clerk: Headers, **overrides: Any) -> tuple[str, str]:
    overrides.setdefault("first_name", next(FIRST_NAMES))
    ref = ready_for_decision(client, clerk, today=START.date(), **overrides)
    decided = client.post(f"/v1/applications/{ref}/decision", headers=clerk,
                          json={"outcome": "approve", "reason": "rulebook_satisfied"})
    assert decided.status_code == 200, decided.text
    cards = client.get(f"/v1/applications/{ref}/cards", headers=clerk).json()
    return ref, str(cards[-1]["id"])


def fee(client: TestClient, headers: Headers, card_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/cards/{card_id}/fee", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def record(client: TestClient, headers: Headers, card_id: str, **body: Any) -> Any:
    return client.post(f"/v1/cards/{card_id}/fee", headers=headers, json=body)


def replace(client: TestClient, headers: Headers, card_id: str) -> str:
    new = client.post(f"/v1/cards/{card_id}/replace", headers=headers, json={"reason": "lost"})
    assert new.status_code == 200, new.text
    return str(new.json()["id"])


def test_a_first_card_is_free_and_a_replacement_costs_ten_dollars(client: TestClient,
                                                                   clerk: Headers) -> None:
    _, card_id = issued(client, clerk)
    first = fee(client, clerk, card_id)
    assert (first["kind"], first["amount_due_cents"], first["currency"], first["status"]) == (
        "new_card", 0, "USD", "none_due")
    nothing = record(client, clerk, card_id, outcome="paid", amount_cents=0)
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_fee_due"

    second = fee(client, clerk, replace(client, clerk, card_id))
    assert (second["kind"], second["amount_due_cents"], second["status"], second["age_band"]) == (
        "replacement", 1000, "due", "adult")


def test_a_changed_schedule_prices_each_kind_by_the_age_band(
        client: TestClient, clerk: Headers, san_francisco: None) -> None:
    _, adult = issued(client, clerk)
    _, youth = issued(client, clerk, date_of_birth=born_aged(16))
    _, senior = issued(client, clerk, date_of_birth=born_aged(70))
    assert [(fee(client, clerk, c)["age_band"], fee(client, clerk, c)["amount_due_cents"])
            for c in (adult, youth, senior)] == [("adult", 1500), ("youth", 500),
                                                 ("senior", 500)]
    replaced = fee(client, clerk, replace(client, clerk, adult))
    assert (replaced["kind"], replaced["amount_due_cents"]) == ("replacement", 1500)


def test_the_age_band_is_the_one_on_the_day_of_the_decision(
        client: TestClient, clerk: Headers, clock: FixedClock, san_francisco: None,
        auth_header: Callable[[str], Headers]) -> None:
    # 59 at intake, 60 three days later when the card is issued: the senior fee.
    ref = ready_for_decision(client, clerk, today=START.date(), first_name=next(FIRST_NAMES),
                             date_of_birth=born_aged(60, days_after=2))
    clock.advance(timedelta(days=3))
    approver = auth_header("clerk")
    decided = client.post(f"/v1/applications/{ref}/decision", headers=approver,
                          json={"outcome": "approve", "reason": "rulebook_satisfied"})
    assert decided.status_code == 200, decided.text
    card_id = client.get(f"/v1/applications/{ref}/cards", headers=approver).json()[0]["id"]
    assert (fee(client, approver, card_id)["age_band"],
            fee(client, approver, card_id)["amount_due_cents"]) == ("senior", 500)


def test_a_renewal_is_charged_as_a_renewal(client: TestClient, clerk: Headers, clock: FixedClock,
                                          san_francisco: None,
                                          auth_header: Callable[[str], Headers]) -> None:
    _, card_id = issued(client, clerk)
    expires = date.fromisoformat(client.get(f"/v1/cards/{card_id}", headers=clerk)
                                 .json()["expires_on"])
    clock.set(datetime.combine(expires - timedelta(days=10), datetime.min.time(), tzinfo=UTC))
    later = auth_header("clerk")
    renewed = client.post(f"/v1/cards/{card_id}/renew", headers=later, json={})
    assert renewed.status_code == 200, renewed.text
    charged = fee(client, later, renewed.json()["id"])
    assert (charged["kind"], charged["amount_due_cents"]) == ("renewal", 1500)


def test_a_waiver_needs_a_reason_from_the_list_and_each_refusal_has_its_code(
        client: TestClient, clerk: Headers) -> None:
    _, first = issued(client, clerk)
    card_id = replace(client, clerk, first)
    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"outcome": "waived"}, 422, "waiver_reason_required"),
        ({"outcome": "waived", "waiver_reason": "felt_like_it"}, 422, "unknown_waiver_reason"),
        ({"outcome": "paid", "amount_cents": 500}, 422, "fee_amount_mismatch"),
        ({"outcome": "paid"}, 422, "fee_amount_mismatch"),
        ({"outcome": "paid", "amount_cents": 1000, "waiver_reason": "hardship"}, 422,
         "waiver_reason_on_payment"),
    ]
    for body, status, code in refusals:
        response = record(client, clerk, card_id, **body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert fee(client, clerk, card_id)["status"] == "due"

    waived = record(client, clerk, card_id, outcome="waived", waiver_reason="hardship")
    assert waived.status_code == 200, waived.text
    me = client.get("/v1/auth/me", headers=clerk).json()
    assert (waived.json()["status"], waived.json()["waiver_code"],
            waived.json()["recorded_by"]) == ("waived", "hardship", str(me["id"]))
    again = record(client, clerk, card_id, outcome="paid", amount_cents=1000)
    assert again.status_code == 409 and again.json()["code"] == "fee_already_recorded"
    missing = client.get(f"/v1/cards/{uuid.uuid4()}/fee", headers=clerk)
    assert missing.status_code == 404 and missing.json()["code"] == "fee_not_found"


def test_a_payment_is_recorded_in_full_and_audited_with_codes(
        client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    _, first = issued(client, clerk)
    card_id = replace(client, clerk, first)
    paid = record(client, clerk, card_id, outcome="paid", amount_cents=1000)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount_paid_cents"]) == ("paid", 1000)
    entries = {e.action: e for e in audit_trail(runtime) if e.action.startswith("fee.")}
    assert entries["fee.charged"].detail["kind"] in ("new_card", "replacement")
    assert entries["fee.paid"].detail == {"kind": "replacement", "cents": 1000,
                                          "currency": "usd"}


def test_the_fee_table_holds_amounts_and_codes_only(client: TestClient, clerk: Headers,
                                                    runtime: Runtime) -> None:
    columns = {c["name"] for c in inspect(runtime.engine).get_columns("card_fees")}
    assert columns == {"card_id", "kind", "age_band", "amount_due_cents", "currency",
                       "schedule", "status", "amount_paid_cents", "waiver_code",
                       "recorded_by", "recorded_at", "created_at"}
    _, first = issued(client, clerk)
    card_id = replace(client, clerk, first)
    assert record(client, clerk, card_id, outcome="paid", amount_cents=1000).status_code == 200
    number = client.get(f"/v1/cards/{card_id}", headers=clerk).json()["card_number"]
    with runtime.engine.connect() as conn:
        from fees.models import CardFee
        rows = [tuple(str(v) for v in row) for row in conn.execute(CardFee.__table__.select())]
    assert len(rows) == 2
    stored = "\n".join(" ".join(r) for r in rows)
    for value in (number, KNOWN_LAST, "Payer"):
        assert value not in stored
    # and not in the clear anywhere else either
    assert number not in all_table_text(runtime)


@pytest.mark.parametrize("role", ["partner_desk", "partner_admin", "auditor", "admin"])
def test_roles_off_the_desk_cannot_read_or_record_a_fee(
        role: str, client: TestClient, clerk: Headers,
        auth_header: Callable[[str], Headers]) -> None:
    _, card_id = issued(client, clerk)
    other = auth_header(role)
    assert client.get(f"/v1/cards/{card_id}/fee", headers=other).status_code == 403
    assert record(client, other, card_id, outcome="waived",
                  waiver_reason="hardship").status_code == 403


def test_the_fee_report_counts_by_kind_and_outcome_and_withholds_small_cells(
        client: TestClient, clerk: Headers, runtime: Runtime,
        auth_header: Callable[[str], Headers]) -> None:
    _, a = issued(client, clerk)
    _, b = issued(client, clerk)
    a2, b2 = replace(client, clerk, a), replace(client, clerk, b)
    assert record(client, clerk, a2, outcome="paid", amount_cents=1000).status_code == 200
    assert record(client, clerk, b2, outcome="waived", waiver_reason="hardship").status_code == 200

    admin = auth_header("admin")
    shown = client.get("/v1/reports/fees", headers=admin)
    assert shown.status_code == 200, shown.text
    rows = {r["kind"]: r for r in shown.json()["rows"]}
    assert set(rows) == {"new_card", "replacement"}
    # Two cards of each kind: under k = 10, every cell and total is withheld.
    for row in rows.values():
        assert row["total"] is None and row["total_suppressed"]
        assert all(c["suppressed"] and c["count"] is None and c["amount_cents"] is None
                   for c in row["cells"])
    assert client.get("/v1/reports/fees", headers=clerk).status_code == 403

    with unit_of_work(runtime.sessions) as session:
        counted = sorted(repository.totals(session), key=str)
        open_ = report.fee_report(session, clock=runtime.clock, actor=Actor("t", "admin"), k=1)
    assert counted == sorted([("new_card", "USD", "none_due", None, 2, 0),
                              ("replacement", "USD", "paid", None, 1, 1000),
                              ("replacement", "USD", "waived", "hardship", 1, 1000)], key=str)
    assert {r.kind: r.total for r in open_.rows} == {"new_card": 2, "replacement": 2}
    # Even at k = 1 the zeros are withheld, and then one more cell of each row, or the total
    # would give the zeros away (cityid/suppression.py): what is left shown is counted right.
    shown = {(r.kind, c.outcome): (c.count, c.amount_cents) for r in open_.rows
             for c in r.cells if not c.suppressed}
    assert shown == {("replacement", "waived:hardship"): (1, 1000)}
    assert [e.detail for e in audit_trail(runtime) if e.action == "report.fees"] == [
        {"output": "json", "k": 10}, {"output": "json", "k": 1}]


def test_a_count_the_total_would_give_away_is_withheld_too(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 paid, 12 waived for hardship, 3 still due: the 3 is withheld with its cents, and the
    # total less the cells shown leaves it among two or more withheld cells, never alone.
    monkeypatch.setattr(repository, "totals", lambda session: [
        ("replacement", "USD", "paid", None, 30, 30000),
        ("replacement", "USD", "waived", "hardship", 12, 12000),
        ("replacement", "USD", "due", None, 3, 3000)])
    with unit_of_work(runtime.sessions) as session:
        out = report.fee_report(session, clock=runtime.clock, actor=Actor("t", "admin"))
    (row,) = out.rows
    assert row.total == 45
    cells = {c.outcome: c for c in row.cells}
    assert (cells["paid"].count, cells["paid"].amount_cents) == (30, 30000)
    assert (cells["waived:hardship"].count, cells["waived:hardship"].amount_cents) == (12, 12000)
    assert cells["due"].suppressed and (cells["due"].count, cells["due"].amount_cents) == (
        None, None)
    assert len([c for c in row.cells if c.suppressed]) >= 2

    # With only paid and due columns the lone 3 would be given away by the total: the
    # smallest cell shown is withheld too.
    monkeypatch.setattr(fee_schedule, "schedule", lambda: fee_schedule.parse_schedule(
        SHIPPED.replace("  - program_error", "#").replace("  - city_emergency", "#")))
    monkeypatch.setattr(repository, "totals", lambda session: [
        ("replacement", "USD", "paid", None, 30, 30000),
        ("replacement", "USD", "waived", "hardship", 12, 12000),
        ("replacement", "USD", "due", None, 3, 3000),
        ("replacement", "USD", "none_due", None, 20, 0)])
    with unit_of_work(runtime.sessions) as session:
        out = report.fee_report(session, clock=runtime.clock, actor=Actor("t", "admin"))
    cells = {c.outcome: c for c in out.rows[0].cells}
    assert [o for o, c in cells.items() if c.suppressed] == ["due", "waived:hardship"]
    assert out.rows[0].total == 65


def test_a_records_request_shows_each_cards_fee_as_kept(
        client: TestClient, clerk: Headers, auth_header: Callable[[str], Headers]) -> None:
    ref, first = issued(client, clerk)
    card_id = replace(client, clerk, first)
    assert record(client, clerk, card_id, outcome="waived",
                  waiver_reason="hardship").status_code == 200
    records = client.get(f"/v1/applications/{ref}/records", headers=auth_header("supervisor"))
    assert records.status_code == 200, records.text
    assert sorted(c["fee"] for c in records.json()["cards"]) == [
        "new_card 0.00 USD, none_due", "replacement 10.00 USD, waived (hardship)"]
    assert {"fee.charged", "fee.waived"} <= {e["action"] for e in records.json()["audit"]}
