"""The fee and lost-reference pages without a browser: a waiver posted without a reason is
refused by the server too (not only by the form), a fee is shown only under its own
application, and the lookup page is the desk's alone."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from idcard import actions as card_actions
from tests.factories import KNOWN_DOB, KNOWN_FIRST, KNOWN_LAST
from tests.web.conftest import CLERK_ACTOR, SignIn, issued_application, new_application


def _replaced(runtime: Runtime) -> tuple[str, str]:
    reference, card_id = issued_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        new = card_actions.replace(session, desk=runtime.cards, actor=CLERK_ACTOR,
                                   card_id=uuid.UUID(card_id), reason="lost")
    return reference, str(new.id)


def test_a_waiver_without_a_reason_is_refused_and_records_nothing(
        browser_client: TestClient, sign_in: SignIn, runtime: Runtime) -> None:
    reference, card_id = _replaced(runtime)
    token = sign_in(browser_client, "clerk")
    url = f"/clerk/applications/{reference}/cards/{card_id}/fee"
    refused = browser_client.post(url, data={"csrf_token": token, "outcome": "waived"})
    assert refused.status_code == 422
    assert "A waiver needs a reason code from the list" in refused.text
    assert 'id="fee-status">Due<' in refused.text
    waived = browser_client.post(url, data={"csrf_token": token, "outcome": "waived",
                                            "waiver_reason": "hardship"})
    assert waived.status_code == 303
    page = browser_client.get(url)
    assert 'id="fee-status">Waived<' in page.text and "Hardship" in page.text


def test_a_fee_page_under_another_application_is_not_found(
        browser_client: TestClient, sign_in: SignIn, runtime: Runtime) -> None:
    _, card_id = _replaced(runtime)
    other = new_application(runtime, first_name="Someone")
    sign_in(browser_client, "clerk")
    assert browser_client.get(f"/clerk/applications/{other}/cards/{card_id}/fee"
                              ).status_code == 404


@pytest.mark.parametrize("role", ["partner_desk", "admin", "auditor"])
def test_only_the_desk_opens_the_lookup_page(role: str, browser_client: TestClient,
                                             sign_in: SignIn, runtime: Runtime) -> None:
    reference = new_application(runtime)
    token = sign_in(browser_client, role)
    assert browser_client.get("/clerk/lookup").status_code == 403
    refused = browser_client.post("/clerk/lookup", data={
        "csrf_token": token, "first_name": KNOWN_FIRST, "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB.isoformat()})
    assert refused.status_code == 403 and reference not in refused.text


def test_the_lookup_page_answers_on_the_page_and_keeps_no_name_in_the_form(
        browser_client: TestClient, sign_in: SignIn, runtime: Runtime) -> None:
    reference = new_application(runtime)
    token = sign_in(browser_client, "clerk")
    found = browser_client.post("/clerk/lookup", data={
        "csrf_token": token, "first_name": KNOWN_FIRST, "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB.isoformat()})
    assert found.status_code == 200 and reference in found.text
    assert f'value="{KNOWN_FIRST}"' not in found.text
    assert found.headers["cache-control"] == "no-store"
