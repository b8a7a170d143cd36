"""Every route, called with every role (and with none), is allowed or refused exactly as the one
declared access matrix says."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.access import ALL_ROLES, PARTNER
from api.app import all_rules, check_access_matrix

ROLES: tuple[str | None, ...] = (None, *(r for r in ALL_ROLES if r != PARTNER))
MATRIX = all_rules()


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


@pytest.mark.parametrize("role", ROLES, ids=[str(r) for r in ROLES])
def test_every_route_follows_the_matrix_for_each_role(
        role: str | None, client: TestClient,
        auth_header: Callable[[str], dict[str, str]]) -> None:
    """One role per test, every route in the matrix: allowed means neither 401 nor 403;
    refused means 401 without a token and 403 with the wrong role. Web routes refuse with a
    redirect to sign-in or the same codes; either way the page's content is not served."""
    headers = auth_header(role) if role else {}
    failures = []
    for (method, path), rule in sorted(MATRIX.items()):
        if rule.scraper:
            continue  # takes no role, only its own token (tests/api/test_ops.py)
        if rule.holder:
            continue  # takes no role, only a holder session (tests/holder/)
        response = client.request(method, _fill(path), headers=headers, json={},
                                  follow_redirects=False)
        if path in ("/v1/auth/logout", "/v1/auth/logout-everywhere") and \
                response.status_code == 204 and role:
            headers = auth_header(role)  # that call signed us out; sign in again
        allowed = rule.allows(role)
        status = response.status_code
        if allowed and status in (401, 403):
            failures.append(f"{method} {path}: refused with {status}, should be allowed")
        elif not allowed and role is None and status != 401:
            failures.append(f"{method} {path}: {status} without a token, should be 401")
        elif not allowed and role is not None and status != 403:
            failures.append(f"{method} {path}: {status} as {role}, should be 403")
    assert not failures, "\n".join(failures)


def test_every_route_has_a_rule(app: FastAPI) -> None:
    check_access_matrix(app)


def test_a_route_without_a_rule_stops_the_app_from_starting(app: FastAPI) -> None:
    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.openapi_schema = None
    with pytest.raises(RuntimeError, match="without an access rule"):
        check_access_matrix(app)


def test_a_revoked_or_garbage_token_is_refused(client: TestClient,
                                               auth_header: Callable[[str], dict[str, str]]
                                               ) -> None:
    assert client.get("/v1/auth/me", headers={"Authorization": "Bearer cst_nope"}).status_code \
        == 401
    assert client.get("/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
