"""A card's way from the print queue to the holder, through the HTTP API, on SQLite and
PostgreSQL: batches per site, mailing, returns, pickup and the refusals of each step."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.enrollment.test_workflow import ready_for_decision
from tests.factories import KNOWN_DOB, audit_trail

Headers = dict[str, str]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
CARE_OF = {"organisation": "Harbor Shelter", "line1": "12 Dock St", "city": "Springfield",
           "state": "NY", "postal_code": "11201"}
# Each applicant a different person, so no duplicate check holds an approval up.
FIRST_NAMES = (f"Holder{n}" for n in itertools.count())


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


@pytest.fixture
def supervisor(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("supervisor")


def approved_card(client: TestClient, clerk: Headers, approver: Headers,
                  **overrides: Any) -> tuple[str, str]:
    overrides.setdefault("first_name", next(FIRST_NAMES))
    ref = ready_for_decision(client, clerk, today=START.date(), **overrides)
    decided = client.post(f"/v1/applications/{ref}/decision", headers=approver,
                          json={"outcome": "approve", "reason": "rulebook_satisfied"})
    assert decided.status_code == 200, decided.text
    cards = client.get(f"/v1/applications/{ref}/cards", headers=clerk).json()
    return ref, str(cards[-1]["id"])


def step(client: TestClient, headers: Headers, card_id: str, name: str, **body: Any) -> Any:
    return client.post(f"/v1/cards/{card_id}/fulfilment/{name}", headers=headers,
                       json=body or None)


def print_batch(client: TestClient, headers: Headers, site: str = "main") -> dict[str, Any]:
    batch = client.post("/v1/print-batches", headers=headers, json={"site_code": site})
    assert batch.status_code == 201, batch.text
    pdf = client.get(f"/v1/print-batches/{batch.json()['id']}/print.pdf", headers=headers)
    assert pdf.status_code == 200, pdf.text
    printed = client.post(f"/v1/print-batches/{batch.json()['id']}/printed", headers=headers)
    assert printed.status_code == 200, printed.text
    return dict(printed.json())


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def status(client: TestClient, ref: str, lang: str = "en") -> dict[str, Any]:
    response = client.post("/v1/status", json={"reference": ref, "lang": lang,
                                               "date_of_birth": KNOWN_DOB.isoformat()})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_mailed_card_is_queued_printed_in_a_batch_and_mailed(
        client: TestClient, clerk: Headers, supervisor: Headers, runtime: Runtime) -> None:
    ref, card_id = approved_card(client, clerk, supervisor)
    queued = client.get(f"/v1/cards/{card_id}/fulfilment", headers=clerk).json()
    assert queued["state"] == "to_print" and queued["site_code"] == "main"
    assert queued["delivery"] == "mail" and queued["next_steps"] == []
    assert status(client, ref)["status"] == "to_print"

    batch = print_batch(client, clerk)
    assert batch["card_ids"] == [card_id] and batch["card_count"] == 1
    printed = client.get(f"/v1/cards/{card_id}/fulfilment", headers=clerk).json()
    assert printed["state"] == "printed"
    assert set(printed["next_steps"]) == {"mail", "make_ready"}

    mailed = step(client, clerk, card_id, "mail")
    assert mailed.status_code == 200, mailed.text
    assert mailed.json()["state"] == "mailed"
    assert client.get(f"/v1/cards/{card_id}", headers=clerk).json()["fulfilment"] == "mailed"
    actions = [e.action for e in audit_trail(runtime)]
    for action in ("fulfilment.batch_created", "fulfilment.batch_file", "card.printed",
                   "fulfilment.batch_printed", "card.mailed"):
        assert action in actions


def test_the_status_page_tells_each_state_in_the_applicants_language(
        client: TestClient, clerk: Headers, supervisor: Headers) -> None:
    from enrollment import i18n

    ref, card_id = approved_card(client, clerk, supervisor)
    for lang in ("es", "ar"):
        answer = status(client, ref, lang)
        assert (answer["label"], answer["next_step"]) == i18n.fulfilment_message("to_print",
                                                                                 lang)
    print_batch(client, clerk)
    assert status(client, ref, "ko")["label"] == i18n.fulfilment_message("printed", "ko")[0]
    step(client, clerk, card_id, "mail")
    for lang in ("es", "zh"):
        answer = status(client, ref, lang)
        assert answer["status"] == "mailed"
        assert (answer["label"], answer["next_step"]) == i18n.status_message("mailed", lang)
    step(client, clerk, card_id, "returned")
    answer = status(client, ref, "ru")
    assert answer["status"] == "returned_undeliverable"
    assert answer["label"] == i18n.fulfilment_message("returned", "ru")[0]
    step(client, clerk, card_id, "picked-up", identity_check="photo_matches_holder")
    answer = status(client, ref, "ht")
    assert (answer["status"], answer["label"]) == ("picked_up",
                                                   i18n.status_message("picked_up", "ht")[0])


def test_an_undeliverable_card_goes_to_pickup_and_is_handed_over_on_an_identity_check(
        client: TestClient, clerk: Headers, supervisor: Headers, runtime: Runtime) -> None:
    _, card_id = approved_card(client, clerk, supervisor)
    print_batch(client, clerk)
    step(client, clerk, card_id, "mail")
    returned = step(client, clerk, card_id, "returned")
    assert returned.status_code == 200, returned.text
    assert returned.json()["state"] == "ready_for_pickup"
    assert returned.json()["returned_at"] is not None
    assert returned.json()["next_steps"] == ["pick_up"]

    unchecked = step(client, clerk, card_id, "picked-up", identity_check="looked_fine")
    assert unchecked.status_code == 422
    assert unchecked.json()["code"] == "unknown_identity_check"
    handed = step(client, clerk, card_id, "picked-up", identity_check="photo_matches_holder")
    assert handed.status_code == 200 and handed.json()["state"] == "picked_up"
    again = step(client, clerk, card_id, "picked-up", identity_check="photo_matches_holder")
    assert again.status_code == 409 and again.json()["code"] == "illegal_fulfilment_step"
    entry = next(e for e in audit_trail(runtime) if e.action == "card.picked_up")
    assert entry.detail == {"site": "main", "identity_check": "photo_matches_holder"}


def test_a_care_of_applicants_card_is_never_mailed(client: TestClient, clerk: Headers,
                                                   supervisor: Headers) -> None:
    _, card_id = approved_card(client, clerk, supervisor, address=None, care_of=CARE_OF)
    print_batch(client, clerk)
    info = client.get(f"/v1/cards/{card_id}/fulfilment", headers=clerk).json()
    assert info["delivery"] == "pickup" and info["next_steps"] == ["make_ready"]
    refused = step(client, clerk, card_id, "mail")
    assert refused.status_code == 409 and refused.json()["code"] == "pickup_only"
    assert step(client, clerk, card_id, "ready").json()["state"] == "ready_for_pickup"


def test_steps_out_of_order_are_refused(client: TestClient, clerk: Headers,
                                        supervisor: Headers) -> None:
    _, card_id = approved_card(client, clerk, supervisor)
    for name in ("mail", "ready", "returned", "not-received"):
        refused = step(client, clerk, card_id, name)
        assert refused.status_code == 409, name
        assert refused.json()["code"] == "illegal_fulfilment_step"
    assert step(client, clerk, card_id, "picked-up",
                identity_check="photo_matches_holder").status_code == 409


def test_a_revoked_card_is_never_printed_nor_picked_up(
        client: TestClient, clerk: Headers, supervisor: Headers) -> None:
    _, revoked = approved_card(client, clerk, supervisor)
    assert client.post(f"/v1/cards/{revoked}/revoke", headers=clerk,
                       json={"reason": "lost"}).status_code == 200
    single = client.get(f"/v1/cards/{revoked}/print.pdf", headers=clerk)
    assert single.status_code == 409 and single.json()["code"] == "card_not_printable"
    none = client.post("/v1/print-batches", headers=clerk, json={"site_code": "main"})
    assert none.status_code == 409 and none.json()["code"] == "nothing_to_print"

    # Revoked after it was printed and put on the counter: it is not handed over.
    _, ready = approved_card(client, clerk, supervisor)
    print_batch(client, clerk)
    step(client, clerk, ready, "ready")
    assert client.post(f"/v1/cards/{ready}/revoke", headers=clerk,
                       json={"reason": "stolen"}).status_code == 200
    refused = step(client, clerk, ready, "picked-up", identity_check="photo_matches_holder")
    assert refused.status_code == 409 and refused.json()["code"] == "card_not_active"


def test_a_card_suspended_after_batching_is_left_out_of_the_print_file(
        client: TestClient, clerk: Headers, supervisor: Headers) -> None:
    _, kept = approved_card(client, clerk, supervisor)
    _, suspended = approved_card(client, clerk, supervisor)
    batch = client.post("/v1/print-batches", headers=clerk, json={"site_code": "main"}).json()
    assert set(batch["card_ids"]) == {kept, suspended}
    assert client.post(f"/v1/cards/{suspended}/suspend", headers=supervisor,
                       json={"reason": "under_investigation"}).status_code == 200
    pdf = client.get(f"/v1/print-batches/{batch['id']}/print.pdf", headers=clerk)
    assert pdf_pages(pdf.content) == 2  # one card: front and back
    printed = client.post(f"/v1/print-batches/{batch['id']}/printed", headers=clerk).json()
    assert printed["card_ids"] == [kept] and printed["card_count"] == 1
    assert client.get(f"/v1/cards/{suspended}/fulfilment",
                      headers=clerk).json()["state"] == "to_print"
    again = client.post(f"/v1/print-batches/{batch['id']}/printed", headers=clerk)
    assert again.status_code == 409 and again.json()["code"] == "print_batch_already_printed"


def test_batches_are_per_site(client: TestClient, clerk: Headers, supervisor: Headers) -> None:
    _, at_main = approved_card(client, clerk, supervisor)
    _, at_bronx = approved_card(client, clerk, supervisor)
    moved = client.post(f"/v1/cards/{at_bronx}/fulfilment/site", headers=clerk,
                        json={"site_code": "bronx_hub"})
    assert moved.status_code == 200 and moved.json()["site_code"] == "bronx_hub"
    bronx = client.post("/v1/print-batches", headers=clerk, json={"site_code": "bronx_hub"})
    assert bronx.json()["card_ids"] == [at_bronx]
    main = client.post("/v1/print-batches", headers=clerk, json={"site_code": "main"})
    assert main.json()["card_ids"] == [at_main]
    late = client.post(f"/v1/cards/{at_bronx}/fulfilment/site", headers=clerk,
                       json={"site_code": "main"})
    assert late.status_code == 409
    listed = client.get("/v1/print-batches?site=bronx_hub", headers=clerk).json()
    assert [b["id"] for b in listed] == [bronx.json()["id"]]


def test_a_card_reported_not_received_is_replaced_under_the_card_rules(
        client: TestClient, clerk: Headers, supervisor: Headers) -> None:
    ref, card_id = approved_card(client, clerk, supervisor)
    print_batch(client, clerk)
    step(client, clerk, card_id, "mail")
    reported = step(client, clerk, card_id, "not-received")
    assert reported.status_code == 200 and reported.json()["state"] == "not_received"
    from enrollment import i18n
    assert status(client, ref)["label"] == i18n.fulfilment_message("not_received", "en")[0]
    new = client.post(f"/v1/cards/{card_id}/replace", headers=clerk,
                      json={"reason": "not_received"})
    assert new.status_code == 200, new.text
    assert new.json()["issue_number"] == 2 and new.json()["fulfilment"] == "to_print"
    assert client.get(f"/v1/cards/{card_id}", headers=clerk).json()["status"] == "revoked"
    # The replacement is what the applicant now hears about.
    assert status(client, ref)["status"] == "to_print"


def test_an_expired_card_in_the_queue_is_not_printed(
        client: TestClient, clerk: Headers, supervisor: Headers, clock: Clock,
        auth_header: Callable[[str], Headers]) -> None:
    _, card_id = approved_card(client, clerk, supervisor)
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=365 * 6))
    clerk = auth_header("clerk")  # the morning's sign-in is long gone
    assert client.get(f"/v1/cards/{card_id}/print.pdf", headers=clerk).status_code == 409
    assert client.post("/v1/print-batches", headers=clerk,
                       json={"site_code": "main"}).status_code == 409


def test_partners_and_auditors_cannot_touch_fulfilment(
        client: TestClient, clerk: Headers, supervisor: Headers,
        auth_header: Callable[[str], Headers]) -> None:
    _, card_id = approved_card(client, clerk, supervisor)
    auditor = auth_header("auditor")
    assert client.get(f"/v1/cards/{card_id}/fulfilment", headers=auditor).status_code == 403
    assert client.post("/v1/print-batches", headers=auditor,
                       json={"site_code": "main"}).status_code == 403
