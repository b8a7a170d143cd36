"""Every route, called with every role (and with none), is allowed or refused exactly as the one
declared access matrix says."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.access import ALL_ROLES, MATRIX, PARTNER
from api.app import check_access_matrix

ROLES: tuple[str | None, ...] = (None, *(r for r in ALL_ROLES if r != PARTNER))
CASES = [(method, path, role) for (method, path) in sorted(MATRIX) for role in ROLES]


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


@pytest.mark.parametrize(("method", "path", "role"), CASES,
                         ids=[f"{m} {p} as {r}" for m, p, r in CASES])
def test_route_access_follows_the_matrix(method: str, path: str, role: str | None,
                                         client: TestClient,
                                         auth_header: Callable[[str], dict[str, str]]) -> None:
    headers = auth_header(role) if role else {}
    response = client.request(method, _fill(path), headers=headers, json={})
    rule = MATRIX[(method, path)]
    if rule.allows(role):
        assert response.status_code not in (401, 403), response.text
    elif role is None:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthenticated"
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"


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
