"""The API answers as its OpenAPI document says: schemathesis generates requests from the
document (valid ones and broken ones) and checks every answer, signed in as an admin for the
staff routes and with a partner key for the partner routes. Any 5xx or conformance failure
fails the suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
import schemathesis.engine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import Failure
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished

from api.runtime import Runtime
from tests.redemption.helpers import make_cardholder, make_partner

Headers = dict[str, str]
PARTNER_ROUTES = r"^/v1/(verify|partner/benefits|redemptions)"
# Enough to find what the document fails to say, in well under a minute and a half per backend.
MAX_EXAMPLES = 20
# The domain's refusals of well-formed data (a weak password, a rule of the program) answer 422
# with their own code; a schema-valid request must never fail the shape check itself.
SHAPE_CODES = {"validation_failed", "unknown_field", "malformed_json"}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"partner_requests_per_minute": 100_000,
            "partner_requests_per_minute_per_client": 100_000,
            "status_checks_per_client": 100_000, "login_max_failures_per_client": 100_000,
            # A deployment that scrapes /metrics; without a token the route is not there (404).
            "metrics_token": "scraper-token-0123456789abcdef"}


class ValidDataRefused(Failure):
    def __init__(self, *, operation: str, code: str) -> None:
        super().__init__(operation=operation, title="Schema-valid data refused as malformed",
                         message=f"422 {code} for data the document calls valid")

    @property
    def _unique_key(self) -> str:
        return self.operation or ""


@schemathesis.check
def valid_data_passes_the_shape_check(ctx: CheckContext, response: Response,
                                      case: Case[Any]) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        code = response.json().get("code")
        if code in SHAPE_CODES:
            raise ValidDataRefused(operation=case.operation.label,
                                   code=f"{code}: {response.text[:200]}")
    return None


def contract_failures(app: FastAPI, headers: Headers, *, partner: bool) -> list[str]:
    """Runs schemathesis's engine (examples, coverage and fuzzing phases, every check) over the
    staff routes or the partner routes; returns one line per distinct failure."""
    config = schemathesis.Config.from_dict({
        "headers": headers,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    document = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schema = (document.include(path_regex=PARTNER_ROUTES) if partner
              else document.exclude(path_regex=PARTNER_ROUTES))
    found: set[str] = set()
    ran = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            ran += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.add(f"{failure.operation}: {check.name}: {failure.title}: "
                                  f"{failure.message[:300]}")
        elif isinstance(event, NonFatalError | FatalError):
            found.add(f"error: {getattr(event, 'label', '')}: {event!r}"[:500])
    assert ran > 0, "schemathesis made no request"
    return sorted(found)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def test_staff_routes_answer_as_documented(app: FastAPI, admin: Headers, runtime: Runtime,
                                           client: TestClient) -> None:
    make_cardholder(runtime)
    failures = contract_failures(app, admin, partner=False)
    assert not failures, "\n".join(failures)


def test_partner_routes_answer_as_documented(app: FastAPI, admin: Headers, runtime: Runtime,
                                             client: TestClient) -> None:
    make_cardholder(runtime)
    _, key = make_partner(client, admin, "bank")
    failures = contract_failures(app, key, partner=True)
    assert not failures, "\n".join(failures)


def test_the_document_says_how_each_caller_signs_in(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["staffToken"]["scheme"] == schemes["partnerKey"]["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/v1/verify"]["post"]["security"] == [{"partnerKey": []}]
    assert paths["/v1/staff"]["get"]["security"] == [{"staffToken": []}]
    assert paths["/v1/status"]["post"]["security"] == []
    assert not any(path.startswith(("/clerk", "/admin", "/partner/")) for path in paths)
    redeem = paths["/v1/redemptions"]["post"]
    key = next(p for p in redeem["parameters"] if p["name"] == "idempotency-key")
    assert key["required"] is True and key["schema"]["minLength"] == 8
    assert "last_admin" in document["components"]["schemas"]["Problem409"]["properties"][
        "code"]["enum"]
    suspend = paths["/v1/cards/{card_id}/suspend"]["post"]["requestBody"]["content"]
    assert "under_investigation" in suspend["application/json"]["schema"]["properties"][
        "reason"]["enum"]
