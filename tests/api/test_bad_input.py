"""Bad input of every kind gets a 4xx with a clear message, and nothing is half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime


@pytest.fixture
def admin(auth_header: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth_header("admin")


GOOD = {"username": "new-clerk", "password": "a sufficiently long one", "role": "clerk"}

CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "wrong type": ({"json": {**GOOD, "role": 12}}, 422, "validation_failed"),
    "unknown role": ({"json": {**GOOD, "role": "mayor"}}, 422, "validation_failed"),
    "missing field": ({"json": {"username": "x"}}, 422, "validation_failed"),
    "unknown field": ({"json": {**GOOD, "shoe_size": 11}}, 422, "unknown_field"),
    "malformed json": ({"content": b'{"username": "x",', "headers": {
        "content-type": "application/json"}}, 400, "malformed_json"),
    "oversized body": ({"json": {**GOOD, "username": "x" * 300_000}}, 413, "payload_too_large"),
    "absurd length": ({"json": {**GOOD, "username": "a" * 500}}, 422, "validation_failed"),
    "weak password": ({"json": {**GOOD, "password": "aaaaaaaaaaaa"}}, 422, "weak_password"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_a_clear_4xx_and_nothing_is_written(case: str, client: TestClient,
                                                           admin: dict[str, str]) -> None:
    kwargs, status, code = CASES[case]
    before = client.get("/v1/staff", headers=admin).json()
    headers = {**admin, **kwargs.pop("headers", {})}
    response = client.post("/v1/staff", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == code
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    assert client.get("/v1/staff", headers=admin).json() == before


def test_validation_errors_do_not_echo_the_input(client: TestClient,
                                                 admin: dict[str, str]) -> None:
    response = client.post("/v1/staff", headers=admin,
                           json={**GOOD, "role": "Mariposa-Secret-Value"})
    assert response.status_code == 422
    assert "Mariposa-Secret-Value" not in response.text


def test_a_failure_after_a_write_rolls_the_whole_request_back(
        client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from privacy import audit

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("the audit write failed")

    before = client.get("/v1/staff", headers=admin).json()
    monkeypatch.setattr(audit, "record", broken)
    response = client.post("/v1/staff", headers=admin, json=GOOD)
    monkeypatch.undo()
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "audit write failed" not in response.text and "Traceback" not in response.text
    assert client.get("/v1/staff", headers=admin).json() == before


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_a_duplicate_username_is_a_conflict(client: TestClient, admin: dict[str, str],
                                            runtime: Runtime) -> None:
    assert client.post("/v1/staff", headers=admin, json=GOOD).status_code == 201
    again = client.post("/v1/staff", headers=admin, json={**GOOD, "username": "NEW-CLERK"})
    assert again.status_code in (409, 422)
