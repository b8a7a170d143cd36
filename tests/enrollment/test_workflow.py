"""The clerk's workflow through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from privacy import audit
from tests.conftest import all_table_text
from tests.factories import application_body, audit_trail, photo_png

Headers = dict[str, str]


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


@pytest.fixture
def supervisor(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("supervisor")


def create(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/applications", headers=headers,
                           json=application_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_doc(client: TestClient, headers: Headers, ref: str, **document: Any) -> Any:
    return client.post(f"/v1/applications/{ref}/documents", headers=headers, json=document)


def passport(today: date | None = None) -> dict[str, Any]:
    return {"kind": "passport",
            "expires_on": ((today or date.today()) + timedelta(days=400)).isoformat()}


def utility_bill(today: date | None = None) -> dict[str, Any]:
    return {"kind": "utility_bill",
            "issued_on": ((today or date.today()) - timedelta(days=10)).isoformat()}


def ready_for_decision(client: TestClient, headers: Headers, today: date | None = None,
                       **overrides: Any) -> str:
    """An application with enough documents and a photo, in review: what a clerk hands to the
    decision. ``today`` is the service clock's date when a test fixes the clock."""
    ref = str(create(client, headers, **overrides)["reference"])
    assert add_doc(client, headers, ref, **passport(today)).status_code == 201
    assert add_doc(client, headers, ref, **utility_bill(today)).status_code == 201
    assert client.put(f"/v1/applications/{ref}/photo", headers={
        **headers, "content-type": "image/png"}, content=photo_png()).status_code == 200
    assert client.post(f"/v1/applications/{ref}/submit", headers=headers).status_code == 200
    assert client.post(f"/v1/applications/{ref}/review", headers=headers).status_code == 200
    return ref


def decide(client: TestClient, headers: Headers, ref: str, outcome: str, reason: str,
           **extra: Any) -> Any:
    return client.post(f"/v1/applications/{ref}/decision", headers=headers,
                       json={"outcome": outcome, "reason": reason, **extra})


def test_an_application_goes_from_intake_to_approval(client: TestClient, clerk: Headers,
                                                     runtime: Runtime) -> None:
    created = create(client, clerk)
    ref = created["reference"]
    assert created["status"] == "draft"
    assert created["delivery"] == "mail"
    assert created["tally"]["satisfied"] is False
    assert len(ref) == 14 and ref[4] == "-" and ref[9] == "-"

    after_passport = add_doc(client, clerk, ref, **passport()).json()
    assert after_passport["tally"]["points"]["identity"] == 3
    assert "1 more residency point" in after_passport["tally"]["messages"]
    after_bill = add_doc(client, clerk, ref, **utility_bill()).json()
    assert after_bill["tally"]["satisfied"] is True
    assert after_bill["tally"]["messages"] == []

    photo = client.put(f"/v1/applications/{ref}/photo",
                       headers={**clerk, "content-type": "image/png"}, content=photo_png())
    assert photo.json()["has_photo"] is True
    assert client.post(f"/v1/applications/{ref}/submit", headers=clerk).json()["status"] == \
        "submitted"
    assert client.post(f"/v1/applications/{ref}/review", headers=clerk).json()["status"] == \
        "in_review"
    approved = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert approved.status_code == 200, approved.text
    # Approval issues the card in the same transaction.
    assert approved.json()["status"] == "card_issued"
    assert approved.json()["decision_reason"] == "rulebook_satisfied"

    fetched = client.get(f"/v1/applications/{ref.lower().replace('-', ' ')}", headers=clerk)
    assert fetched.json()["first_name"] == created["first_name"]
    assert fetched.json()["designations"]["languages"] == ["es", "en"]
    actions = [e.action for e in audit_trail(runtime)]
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).ok
    for step in ("application.created", "application.document_checked",
                 "application.photo_set", "application.submit", "application.review",
                 "application.approve", "card.issued", "application.card_issued"):
        assert step in actions


def test_a_denied_application_records_its_reason(client: TestClient, clerk: Headers) -> None:
    ref = create(client, clerk)["reference"]
    client.post(f"/v1/applications/{ref}/submit", headers=clerk)
    denied = decide(client, clerk, ref, "deny", "insufficient_documents")
    assert denied.json()["status"] == "denied"
    assert denied.json()["decision_reason"] == "insufficient_documents"
    again = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert add_doc(client, clerk, ref, **passport()).json()["code"] == "application_not_editable"


def test_decisions_take_reason_codes_not_free_text(client: TestClient, clerk: Headers) -> None:
    ref = ready_for_decision(client, clerk)
    response = decide(client, clerk, ref, "deny", "she_seemed_undocumented")
    assert response.status_code == 422 and response.json()["code"] == "unknown_reason"
    assert decide(client, clerk, ref, "deny", "Looks fake").status_code == 422


@pytest.mark.parametrize(("path", "status"), [("submit", "draft"), ("review", "draft")])
def test_illegal_transitions_are_conflicts(client: TestClient, clerk: Headers, path: str,
                                           status: str) -> None:
    ref = create(client, clerk)["reference"]
    if path == "review":
        response = client.post(f"/v1/applications/{ref}/review", headers=clerk)
        assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    approve = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert approve.status_code == 409 and approve.json()["code"] == "illegal_transition"


def test_approval_needs_the_rulebook_and_a_photo(client: TestClient, clerk: Headers,
                                                 supervisor: Headers, runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]
    add_doc(client, clerk, ref, **passport())
    client.post(f"/v1/applications/{ref}/submit", headers=clerk)
    client.post(f"/v1/applications/{ref}/review", headers=clerk)
    no_photo = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert no_photo.status_code == 409 and no_photo.json()["code"] == "photo_missing"
    client.put(f"/v1/applications/{ref}/photo", headers={**clerk, "content-type": "image/png"},
               content=photo_png())
    short = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert short.status_code == 409 and short.json()["code"] == "rulebook_not_satisfied"
    by_clerk = decide(client, clerk, ref, "approve", "documents_verified_by_supervisor",
                      override_rulebook=True)
    assert by_clerk.status_code == 403 and by_clerk.json()["code"] == "override_needs_supervisor"
    by_supervisor = decide(client, supervisor, ref, "approve",
                           "documents_verified_by_supervisor", override_rulebook=True)
    assert by_supervisor.status_code == 200, by_supervisor.text
    assert by_supervisor.json()["rulebook_override"] is True
    approvals = [e for e in audit_trail(runtime) if e.action == "application.approve"]
    assert approvals[-1].detail["override"] is True
    assert approvals[-1].purpose == "documents_verified_by_supervisor"
    assert approvals[-1].role == "supervisor"


def test_a_possible_duplicate_blocks_approval_until_a_supervisor_resolves_it(
        client: TestClient, clerk: Headers, supervisor: Headers,
        auth_header: Callable[[str], Headers]) -> None:
    first = ready_for_decision(client, clerk)
    assert decide(client, clerk, first, "approve", "rulebook_satisfied").status_code == 200
    other_clerk = auth_header("clerk")
    second = ready_for_decision(client, other_clerk, first_name="  zéphyrine ",
                                last_name="QUILLFEATHER ABERNATHY")
    view = client.get(f"/v1/applications/{second}", headers=other_clerk).json()
    assert view["possible_duplicate"] is True
    # The clerk learns there may be a duplicate, and nothing about the other person.
    assert first not in str(view)
    blocked = decide(client, other_clerk, second, "approve", "rulebook_satisfied")
    assert blocked.status_code == 409 and blocked.json()["code"] == "duplicate_unresolved"

    assert client.get("/v1/duplicates", headers=clerk).status_code == 403
    queue = client.get("/v1/duplicates", headers=supervisor).json()
    assert [(q["application_reference"], q["matched_reference"]) for q in queue] == \
        [(second, first)]
    assert "first_name" not in queue[0] and "Zephyrine" not in str(queue)
    resolved = client.post(f"/v1/duplicates/{queue[0]['id']}/resolve", headers=supervisor,
                           json={"resolution": "not_duplicate"})
    assert resolved.status_code == 200
    assert decide(client, other_clerk, second, "approve", "rulebook_satisfied").status_code == 200


def test_a_confirmed_duplicate_cannot_be_approved(client: TestClient, clerk: Headers,
                                                  supervisor: Headers) -> None:
    ready_for_decision(client, clerk)
    second = ready_for_decision(client, clerk)
    flag = client.get("/v1/duplicates", headers=supervisor).json()[0]
    client.post(f"/v1/duplicates/{flag['id']}/resolve", headers=supervisor,
                json={"resolution": "same_person"})
    refused = decide(client, clerk, second, "approve", "rulebook_satisfied")
    assert refused.status_code == 409 and refused.json()["code"] == "duplicate_confirmed"
    assert decide(client, clerk, second, "deny", "duplicate_application").status_code == 200


def test_only_the_category_points_and_flags_of_a_document_are_kept(
        client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]
    add_doc(client, clerk, ref, **passport())
    add_doc(client, clerk, ref, **utility_bill())
    stored = all_table_text(runtime)
    for trace in ("passport", "utility_bill", "Passport", "Utility"):
        assert trace not in stored
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(runtime.engine).get_columns("application_documents")}
    assert columns == {"id", "application_id", "category", "points", "shows_photo", "shows_dob",
                       "checked_by", "checked_at"}


def test_a_minor_applies_with_a_caretaker_and_a_relationship_document(
        client: TestClient, clerk: Headers) -> None:
    twelve = date.today().replace(year=date.today().year - 12) - timedelta(days=3)
    alone = client.post("/v1/applications", headers=clerk,
                        json=application_body(date_of_birth=twelve.isoformat()))
    assert alone.status_code == 422 and alone.json()["code"] == "caretaker_required"
    with_caretaker = create(client, clerk, date_of_birth=twelve.isoformat(),
                            caretaker={"first_name": "Ana", "last_name": "Ruiz",
                                       "relationship": "parent"})
    ref = with_caretaker["reference"]
    add_doc(client, clerk, ref, **passport())
    view = add_doc(client, clerk, ref, **utility_bill()).json()
    assert "caretaker_relationship_document" in view["tally"]["missing"]
    assert view["tally"]["satisfied"] is False
    view = add_doc(client, clerk, ref, kind="court_order").json()
    assert view["tally"]["satisfied"] is True, view["tally"]


def test_under_ten_is_refused(client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    nine = date.today().replace(year=date.today().year - 9)
    response = client.post("/v1/applications", headers=clerk,
                           json=application_body(date_of_birth=nine.isoformat()))
    assert response.status_code == 422 and response.json()["code"] == "applicant_too_young"
    assert "Zephyrine" not in all_table_text(runtime)


def test_care_of_and_no_address_applicants_pick_up_in_person(client: TestClient,
                                                             clerk: Headers) -> None:
    care_of = create(client, clerk, address=None, care_of={
        "organisation": "Safe Harbor Shelter", "line1": "1 Main St", "city": "Springfield",
        "state": "NY", "postal_code": "11201"})
    assert care_of["delivery"] == "pickup"
    assert care_of["care_of"]["organisation"] == "Safe Harbor Shelter"
    nowhere = create(client, clerk, address=None)
    assert nowhere["delivery"] == "pickup" and nowhere["address"] is None
