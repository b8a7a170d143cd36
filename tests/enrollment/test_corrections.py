"""Corrections before the decision, through the HTTP API, on SQLite and PostgreSQL: the clerk
corrects the data (audited by field names only), the duplicate check runs again, a document
record is withdrawn, the data is frozen once approved, and only the desk's roles may do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from tests.conftest import all_table_text
from tests.enrollment.test_workflow import (
    add_doc,
    create,
    decide,
    passport,
    ready_for_decision,
    utility_bill,
)
from tests.factories import KNOWN_DOB, KNOWN_FIRST, KNOWN_LAST, audit_trail, photo_png
from tests.redemption.helpers import make_partner

Headers = dict[str, str]
NEW_FIRST, NEW_LAST = "Wilhelmina", "Thistlewood-Carrow"
CARE_OF = {"organisation": "Harbor Light Shelter", "line1": "12 Dock Street", "city": "Brooklyn",
           "state": "NY", "postal_code": "11201"}


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


@pytest.fixture
def supervisor(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("supervisor")


def edit(client: TestClient, headers: Headers, ref: str, **fields: Any) -> Any:
    return client.patch(f"/v1/applications/{ref}", headers=headers, json=fields)


def withdraw(client: TestClient, headers: Headers, ref: str, document_id: str,
             reason: str = "recorded_in_error") -> Any:
    return client.post(f"/v1/applications/{ref}/documents/{document_id}/withdraw",
                       headers=headers, json={"reason": reason})


def entries(runtime: Runtime, action: str) -> list[Any]:
    return [e for e in audit_trail(runtime) if e.action == action]


def test_a_clerk_corrects_names_birth_date_address_and_designations(
        client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    ref = create(client, clerk, middle_name="Ottoline")["reference"]
    response = edit(client, clerk, ref, first_name=NEW_FIRST, middle_name=None,
                    last_name=NEW_LAST, date_of_birth="1990-06-02", care_of=CARE_OF,
                    designations={"gender": "F", "languages": ["ar"], "organ_donor": True})
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["first_name"], out["middle_name"], out["last_name"]) == (NEW_FIRST, None,
                                                                          NEW_LAST)
    assert out["date_of_birth"] == "1990-06-02"
    assert out["address"] is None and out["care_of"]["organisation"] == "Harbor Light Shelter"
    assert out["delivery"] == "pickup"  # care-of applicants always pick up
    assert out["designations"] == {"gender": "F", "languages": ["ar"], "veteran": False,
                                   "organ_donor": True, "emergency_contact": None}
    again = client.get(f"/v1/applications/{ref}", headers=clerk).json()
    assert again["first_name"] == NEW_FIRST and again["care_of"] == out["care_of"]

    [entry] = entries(runtime, "application.corrected")
    assert entry.detail == {"first_name": True, "middle_name": True, "last_name": True,
                            "date_of_birth": True, "address": True, "care_of": True,
                            "designations": True, "new_duplicates": 0,
                            "possible_duplicate": False}
    # Sealed as at intake: the corrected values are nowhere in the clear.
    stored = all_table_text(runtime)
    for value in (NEW_FIRST, NEW_LAST, "1990-06-02", "Harbor Light", "Dock Street"):
        assert value not in stored

    # Back to a home address: the card is mailed again; only the fields that changed are listed.
    home = {"line1": "9 Elm Row", "city": "Queens", "state": "NY", "postal_code": "11375"}
    moved = edit(client, clerk, ref, first_name=NEW_FIRST, address=home).json()
    assert moved["delivery"] == "mail" and moved["care_of"] is None
    assert entries(runtime, "application.corrected")[-1].detail == {
        "address": True, "care_of": True, "new_duplicates": 0, "possible_duplicate": False}
    # The same values again change nothing and are not audited as a correction.
    assert edit(client, clerk, ref, first_name=NEW_FIRST).status_code == 200
    assert len(entries(runtime, "application.corrected")) == 2


def test_a_correction_keeps_intakes_rules(client: TestClient, clerk: Headers,
                                          runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]
    twelve = date.today().replace(year=date.today().year - 12) - timedelta(days=3)
    refused = edit(client, clerk, ref, date_of_birth=twelve.isoformat())
    assert refused.status_code == 422 and refused.json()["code"] == "caretaker_required"
    future = edit(client, clerk, ref, date_of_birth=(date.today() + timedelta(days=1))
                  .isoformat())
    assert future.json()["code"] == "impossible_date_of_birth"
    assert edit(client, clerk, ref, first_name=None).status_code == 422
    assert edit(client, clerk, ref, address=CARE_OF, care_of=CARE_OF).status_code == 422
    assert edit(client, clerk, ref, nationality="x").json()["code"] == "forbidden_field"
    assert client.get(f"/v1/applications/{ref}", headers=clerk).json()["date_of_birth"] == \
        KNOWN_DOB.isoformat()
    assert entries(runtime, "application.corrected") == []


def test_a_correction_runs_the_duplicate_check_again(client: TestClient, clerk: Headers,
                                                      supervisor: Headers,
                                                      runtime: Runtime) -> None:
    first = create(client, clerk)["reference"]
    other = ready_for_decision(client, clerk, first_name="Barnaby", last_name="Oakes",
                               date_of_birth="1979-11-30")
    assert client.get(f"/v1/applications/{other}", headers=clerk).json()[
        "possible_duplicate"] is False

    # The clerk corrects a typing mistake, and the corrected person is already enrolled.
    corrected = edit(client, clerk, other, first_name=KNOWN_FIRST.upper(), last_name=KNOWN_LAST,
                     date_of_birth=KNOWN_DOB.isoformat())
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["possible_duplicate"] is True
    assert entries(runtime, "application.corrected")[-1].detail["new_duplicates"] == 1
    queue = client.get("/v1/duplicates", headers=supervisor).json()
    assert [(d["application_reference"], d["matched_reference"]) for d in queue] == \
        [(other, first)]
    blocked = decide(client, clerk, other, "approve", "rulebook_satisfied")
    assert blocked.status_code == 409 and blocked.json()["code"] == "duplicate_unresolved"

    # Correcting it again flags nothing twice, and does not clear the open check either.
    again = edit(client, clerk, other, middle_name="Ann").json()
    assert again["possible_duplicate"] is True
    assert entries(runtime, "application.corrected")[-1].detail["new_duplicates"] == 0
    assert len(client.get("/v1/duplicates", headers=supervisor).json()) == 1


def test_after_approval_the_data_is_frozen(client: TestClient, clerk: Headers) -> None:
    ref = ready_for_decision(client, clerk)
    document_id = client.get(f"/v1/applications/{ref}", headers=clerk).json()[
        "documents"][0]["id"]
    assert decide(client, clerk, ref, "approve", "rulebook_satisfied").status_code == 200
    frozen = edit(client, clerk, ref, first_name=NEW_FIRST)
    assert frozen.status_code == 409 and frozen.json()["code"] == "application_frozen"
    assert "replacement" in frozen.json()["title"]
    withdrawn = withdraw(client, clerk, ref, document_id)
    assert withdrawn.status_code == 409 and withdrawn.json()["code"] == "application_frozen"
    assert client.get(f"/v1/applications/{ref}", headers=clerk).json()["first_name"] == \
        KNOWN_FIRST

    denied = create(client, clerk, first_name="Odile")["reference"]
    assert decide(client, clerk, denied, "deny", "applicant_withdrew").status_code == 200
    closed = edit(client, clerk, denied, first_name=NEW_FIRST)
    assert closed.status_code == 409 and closed.json()["code"] == "application_not_editable"


def test_a_wrong_document_record_is_withdrawn(client: TestClient, clerk: Headers,
                                              runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]
    add_doc(client, clerk, ref, **passport())
    both = add_doc(client, clerk, ref, **utility_bill()).json()
    assert both["tally"]["satisfied"] is True
    bill = next(d for d in both["documents"] if d["category"] == "residency")

    refused = withdraw(client, clerk, ref, bill["id"], reason="i_said_so")
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_reason"
    other = create(client, clerk, first_name="Ines")["reference"]
    wrong_application = withdraw(client, clerk, other, bill["id"])
    assert wrong_application.status_code == 404
    assert wrong_application.json()["code"] == "document_not_found"

    after = withdraw(client, clerk, ref, bill["id"], reason="wrong_document_dates")
    assert after.status_code == 200, after.text
    out = after.json()
    assert [d["category"] for d in out["documents"]] == ["identity"]
    # The rulebook's view of what is still missing says so at once.
    assert out["tally"]["satisfied"] is False
    assert out["tally"]["missing"] == ["residency_points"]
    assert "1 more residency point" in out["tally"]["messages"]
    [entry] = entries(runtime, "application.document_withdrawn")
    assert entry.purpose == "wrong_document_dates"
    assert entry.detail == {"category": "residency", "points": bill["points"]}
    again = withdraw(client, clerk, ref, bill["id"])
    assert again.status_code == 404 and again.json()["code"] == "document_not_found"


def test_the_clerk_sees_the_photo_on_file(client: TestClient, clerk: Headers,
                                          runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]
    none_yet = client.get(f"/v1/applications/{ref}/photo", headers=clerk)
    assert none_yet.status_code == 404 and none_yet.json()["code"] == "photo_not_found"
    client.put(f"/v1/applications/{ref}/photo", headers={**clerk, "content-type": "image/png"},
               content=photo_png())
    photo = client.get(f"/v1/applications/{ref}/photo", headers=clerk)
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg" and photo.content[:2] == b"\xff\xd8"
    assert photo.headers["cache-control"] == "no-store"
    assert len(entries(runtime, "application.photo_viewed")) == 1


def test_the_receipt_answers_in_the_applicants_language(client: TestClient, clerk: Headers,
                                                        runtime: Runtime) -> None:
    ref = create(client, clerk)["reference"]  # prefers Spanish, then English
    add_doc(client, clerk, ref, **passport())
    spanish = client.get(f"/v1/applications/{ref}/receipt", headers=clerk)
    assert spanish.status_code == 200, spanish.text
    body = spanish.json()
    assert (body["lang"], body["dir"], body["reference"]) == ("es", "ltr", ref)
    assert body["status_label"] == "Sin terminar"
    assert body["status_url"] == "https://id.city.example/status?lang=es"
    assert body["documents_complete"] is False
    assert body["missing"] == [{"code": "residency_points", "points": 1}]
    # The address printed is the program's own, whatever Host the request named.
    arabic = client.get(f"/v1/applications/{ref}/receipt?lang=ar",
                        headers={**clerk, "host": "phish.example"}).json()
    assert (arabic["lang"], arabic["dir"]) == ("ar", "rtl")
    assert arabic["status_url"] == "https://id.city.example/status?lang=ar"
    unknown = client.get(f"/v1/applications/{ref}/receipt?lang=xx", headers=clerk).json()
    assert unknown["lang"] == "es"
    assert [e.detail for e in entries(runtime, "application.receipt_printed")] == [
        {"lang": "es"}, {"lang": "ar"}, {"lang": "es"}]


def test_only_the_desk_may_correct_see_the_photo_or_print_a_receipt(
        client: TestClient, clerk: Headers, auth_header: Callable[[str], Headers]) -> None:
    ref = create(client, clerk)["reference"]
    document_id = add_doc(client, clerk, ref, **passport()).json()["documents"][0]["id"]
    admin = auth_header("admin")
    _, partner_key = make_partner(client, admin, "bank")
    calls = [("PATCH", f"/v1/applications/{ref}", {"first_name": NEW_FIRST}),
             ("GET", f"/v1/applications/{ref}/photo", None),
             ("POST", f"/v1/applications/{ref}/documents/{document_id}/withdraw",
              {"reason": "recorded_in_error"}),
             ("GET", f"/v1/applications/{ref}/receipt", None)]
    for headers, expected in ((partner_key, 403), (admin, 403), (auth_header("auditor"), 403),
                              (auth_header("partner_desk"), 403), ({}, 401)):
        for method, url, body in calls:
            response = client.request(method, url, headers=headers, json=body)
            assert response.status_code == expected, (method, url, response.text)
    out = client.get(f"/v1/applications/{ref}", headers=clerk).json()
    assert out["first_name"] == KNOWN_FIRST and len(out["documents"]) == 1
