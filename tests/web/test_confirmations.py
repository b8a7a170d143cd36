"""Irreversible desk actions ask for confirmation and take no reason the page chose."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.runtime import Runtime
from tests.web.conftest import SignIn, new_application


def _in_review(client: TestClient, runtime: Runtime, token: str) -> str:
    reference = new_application(runtime, documents=True, photo=True)
    for step in ("submit", "review"):
        client.post(f"/clerk/applications/{reference}/{step}", data={"csrf_token": token})
    return f"/clerk/applications/{reference}"


def test_a_denial_is_refused_until_it_is_confirmed(runtime: Runtime,
                                                   browser_client: TestClient,
                                                   sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    url = _in_review(browser_client, runtime, token)
    page = browser_client.get(url).text
    deny = page[page.index('class="decision deny"'):]
    deny = deny[:deny.index("</form>")]
    # The reason list starts on a placeholder no one can submit, and the box is required.
    assert re.search(r'<option value="" selected disabled>', deny)
    assert 'name="confirm" required' in deny
    unconfirmed = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "deny", "reason": "applicant_withdrew"})
    assert unconfirmed.status_code == 422 and "cannot be undone" in unconfirmed.text
    assert "In review" in browser_client.get(url).text
    denied = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "deny", "reason": "applicant_withdrew", "confirm": "on"})
    assert denied.status_code == 303


def test_a_revocation_is_refused_until_it_is_confirmed(runtime: Runtime,
                                                       browser_client: TestClient,
                                                       sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    url = _in_review(browser_client, runtime, token)
    browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "approve", "reason": "rulebook_satisfied"})
    page = browser_client.get(url).text
    card = re.search(r"/cards/([0-9a-f-]{36})/revoke", page)
    assert card
    revoke = page[page.index(card.group(0)):]
    assert '<option value="" selected disabled>' in revoke[:revoke.index("</form>")]
    refused = browser_client.post(f"{url}/cards/{card.group(1)}/revoke",
                                  data={"csrf_token": token, "reason": "lost"})
    assert refused.status_code == 422
    assert "Revoked" not in browser_client.get(url).text
