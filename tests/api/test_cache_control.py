"""Responses that carry tokens, keys or personal data are never cached: ``no-store`` is the
default for every route (api/middleware.py), and only the public publications opt out."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.access import PARTNER
from api.app import all_rules
from api.runtime import Runtime
from tests.conftest import STAFF_PASSWORD
from tests.factories import KNOWN_DOB, application_body
from tests.redemption.helpers import make_cardholder, make_partner

Headers = dict[str, str]
METRICS_TOKEN = "scraper-token-0123456789abcdef"
# Public and the same for everyone: a cache may keep these, and they say how long.
CACHEABLE = {("GET", "/.well-known/cityid/jwks.json"), ("GET", "/.well-known/cityid/status-list"),
             ("GET", "/.well-known/cityid/audit-head"),
             ("GET", "/static/{name}"), ("GET", "/docs/assets/{name}")}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"metrics_token": METRICS_TOKEN}


def no_store(response: Any) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


def test_every_route_answers_no_store_unless_it_is_a_public_publication(
        client: TestClient, auth_header: Callable[[str], Headers]) -> None:
    """Walks the whole access matrix with a caller each rule admits; whatever a route answers
    (a page, a refusal, a validation error), it is not cacheable."""
    admin = auth_header("admin")
    _, partner_key = make_partner(client, admin, "bank")
    signed_in: dict[str, Headers] = {PARTNER: partner_key}
    walked = 0
    for (method, path), rule in sorted(all_rules().items()):
        if (method, path) in CACHEABLE:
            continue
        if rule.public:
            headers: Headers = {}
        elif rule.scraper:
            headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        else:
            role = sorted(rule.roles)[0]
            if role not in signed_in:
                signed_in[role] = auth_header(role)
            headers = signed_in[role]
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = client.request(method, url, headers=headers,
                                  json={} if method in {"POST", "PUT", "PATCH"} else None)
        assert no_store(response), (method, path, response.status_code)
        walked += 1
    assert walked > 60


def test_the_public_publications_keep_their_cache_lifetime(client: TestClient) -> None:
    response = client.get("/.well-known/cityid/jwks.json")
    assert response.headers["cache-control"] == "public, max-age=3600"


def test_answers_that_carry_tokens_keys_or_personal_data_are_no_store(
        client: TestClient, auth_header: Callable[[str], Headers], make_staff: Callable[..., str],
        runtime: Runtime) -> None:
    """The routes the walk reaches with an error, reached here with a real answer."""
    answers: dict[str, Any] = {}
    answers["sign-in token"] = client.post("/v1/auth/token", json={
        "username": make_staff("clerk"), "password": STAFF_PASSWORD})
    admin = auth_header("admin")
    partner = client.post("/v1/partners", headers=admin,
                          json={"name": "A Bank", "type": "bank"}).json()
    answers["API key"] = client.post(f"/v1/partners/{partner['id']}/keys", headers=admin,
                                     json={"expires_in_days": 30})
    clerk, supervisor = auth_header("clerk"), auth_header("supervisor")
    reference = client.post("/v1/applications", headers=clerk,
                            json=application_body()).json()["reference"]
    answers["application"] = client.get(f"/v1/applications/{reference}", headers=clerk)
    answers["records"] = client.get(f"/v1/applications/{reference}/records", headers=supervisor)
    answers["status check"] = client.post("/v1/status", json={
        "reference": reference, "date_of_birth": KNOWN_DOB.isoformat()})
    holder = make_cardholder(runtime)
    answers["card"] = client.get(f"/v1/cards/{holder['id']}", headers=clerk)
    _, key = make_partner(client, admin, "bank", name="Another Bank")
    answers["verify"] = client.post("/v1/verify", headers=key, json={"qr": holder["qr"]})
    answers["signed-in page"] = client.get("/clerk", headers=clerk)
    for name, response in answers.items():
        assert response.status_code in {200, 201}, (name, response.text)
        assert no_store(response), name
