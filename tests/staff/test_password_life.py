"""Staff change their own password, admins reset one (forcing a change), passwords are checked
against a list of common ones, and staff see and end their own sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from staff.passwords import common_passwords, is_common
from tests.conftest import STAFF_PASSWORD, sign_in_body

NEW_PASSWORD = "a brand new pass phrase for me"


def _bearer(client: TestClient, username: str, password: str = STAFF_PASSWORD
            ) -> dict[str, str]:
    response = client.post("/v1/auth/token", json=sign_in_body(username, password))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_common_password_list_is_shipped_and_used() -> None:
    assert len(common_passwords()) > 3000
    for weak in ("password", "Password1234", "iloveyou2024!", "dragondragondragon"):
        assert is_common(weak), weak
    assert not is_common(STAFF_PASSWORD)


@pytest.mark.parametrize("password", ["iloveyou12345", "Sunshine123456", "abcabcabcabc"])
def test_a_common_password_is_refused_for_a_new_account(
        password: str, client: TestClient, auth_header: Callable[[str], dict[str, str]]
        ) -> None:
    made = client.post("/v1/staff", headers=auth_header("admin"),
                       json={"username": "new.clerk", "password": password, "role": "clerk"})
    assert made.status_code == 422
    assert made.json()["code"] == "weak_password"


def test_a_staff_member_changes_their_own_password(client: TestClient,
                                                   make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    old_session = _bearer(client, username)
    body = {"username": username, "password": "not the old one", "new_password": NEW_PASSWORD}
    assert client.post("/v1/auth/password", json=body).status_code == 401
    body = sign_in_body(username) | {"new_password": "password12345"}
    assert client.post("/v1/auth/password", json=body).json()["code"] == "weak_password"
    body = sign_in_body(username) | {"new_password": NEW_PASSWORD}
    assert client.post("/v1/auth/password", json=body).status_code == 204
    # The sessions opened with the old password end with it.
    assert client.get("/v1/auth/me", headers=old_session).status_code == 401
    assert client.post("/v1/auth/token",
                       json=sign_in_body(username)).status_code == 401
    _bearer(client, username, NEW_PASSWORD)


def test_a_password_change_needs_the_second_factor_too(client: TestClient,
                                                       make_staff: Callable[..., str]) -> None:
    username = make_staff("admin")
    body = {"username": username, "password": STAFF_PASSWORD, "new_password": NEW_PASSWORD}
    refused = client.post("/v1/auth/password", json=body)
    assert refused.status_code == 401 and refused.json()["code"] == "second_factor_required"


def test_an_admin_reset_forces_a_change_at_the_next_sign_in(
        client: TestClient, make_staff: Callable[..., str],
        auth_header: Callable[[str], dict[str, str]]) -> None:
    username = make_staff("clerk")
    session = _bearer(client, username)
    admin = auth_header("admin")
    staff_id = next(s["id"] for s in client.get("/v1/staff", headers=admin).json()
                    if s["username"] == username)
    reset = client.post(f"/v1/staff/{staff_id}/password-reset", headers=admin,
                        json={"password": "temporary pass phrase 7"})
    assert reset.status_code == 204
    assert client.get("/v1/auth/me", headers=session).status_code == 401
    forced = client.post("/v1/auth/token", json=sign_in_body(username,
                                                             "temporary pass phrase 7"))
    assert forced.status_code == 401 and forced.json()["code"] == "password_change_required"
    changed = client.post("/v1/auth/password", json={
        "username": username, "password": "temporary pass phrase 7",
        "new_password": NEW_PASSWORD})
    assert changed.status_code == 204
    _bearer(client, username, NEW_PASSWORD)


def test_staff_list_their_sessions_and_sign_out_of_all(client: TestClient,
                                                       make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    first, second = _bearer(client, username), _bearer(client, username)
    listed = client.get("/v1/auth/sessions", headers=second)
    assert listed.status_code == 200
    assert len(listed.json()) == 2
    assert [s["current"] for s in listed.json()].count(True) == 1
    assert all(len(s["id"]) == 12 for s in listed.json())
    assert client.post("/v1/auth/logout-everywhere", headers=second).status_code == 204
    assert client.get("/v1/auth/me", headers=first).status_code == 401
    assert client.get("/v1/auth/me", headers=second).status_code == 401
