"""The program keeps an active admin, and an account's flags take real booleans only."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import STAFF_PASSWORD, sign_in_body

Headers = dict[str, str]


def _sign_in(client: TestClient, username: str) -> Headers:
    response = client.post("/v1/auth/token", json=sign_in_body(username))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _me(client: TestClient, headers: Headers) -> dict[str, Any]:
    return dict(client.get("/v1/auth/me", headers=headers).json())


def _id_of(client: TestClient, headers: Headers, username: str) -> str:
    listed = client.get("/v1/staff", headers=headers).json()
    return str(next(a["id"] for a in listed if a["username"] == username))


def test_an_admin_cannot_deactivate_itself(client: TestClient,
                                           make_staff: Callable[..., str]) -> None:
    make_staff("admin")  # another admin exists, so this is not the last-admin rule
    me = make_staff("admin")
    headers = _sign_in(client, me)
    answer = client.patch(f"/v1/staff/{_id_of(client, headers, me)}", headers=headers,
                          json={"active": False})
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "own_account"
    assert _me(client, headers)["username"] == me  # still signed in, still active


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(
        client: TestClient, make_staff: Callable[..., str]) -> None:
    first, second = make_staff("admin"), make_staff("admin")
    first_headers = _sign_in(client, first)
    second_id = _id_of(client, first_headers, second)
    first_id = _id_of(client, first_headers, first)
    # Two admins: one may retire the other.
    assert client.patch(f"/v1/staff/{second_id}", headers=first_headers,
                        json={"active": False}).status_code == 200
    # Now the first is the last; a second admin account that is inactive does not count.
    demoted = client.patch(f"/v1/staff/{first_id}", headers=first_headers,
                           json={"role": "clerk"})
    assert demoted.status_code == 409, demoted.text
    assert demoted.json()["code"] == "last_admin"
    assert _me(client, first_headers)["role"] == "admin"
    # With a new admin, demoting the first is fine.
    assert client.post("/v1/staff", headers=first_headers, json={
        "username": "third-admin", "password": STAFF_PASSWORD, "role": "admin"}
        ).status_code == 201
    assert client.patch(f"/v1/staff/{first_id}", headers=first_headers,
                        json={"role": "clerk"}).status_code == 200


def test_two_admins_retiring_each_other_at_once_leave_one(
        client: TestClient, make_staff: Callable[..., str]) -> None:
    names = [make_staff("admin"), make_staff("admin")]
    headers = [_sign_in(client, n) for n in names]
    ids = [_id_of(client, headers[0], n) for n in names]
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def retire(me: int) -> None:
        start.wait()
        answers.append(client.patch(f"/v1/staff/{ids[1 - me]}", headers=headers[me],
                                    json={"active": False}))

    threads = [threading.Thread(target=retire, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(a.status_code for a in answers)
    # The loser either finds itself already retired (its token revoked: 401) or is the last.
    assert statuses[200] == 1 and statuses[200] + statuses[409] + statuses[401] == 2, \
        [a.text for a in answers]
    survivors = [h for h in headers if client.get("/v1/auth/me", headers=h).status_code == 200]
    assert len(survivors) == 1
    active_admins = [a for a in client.get("/v1/staff", headers=survivors[0]).json()
                     if a["role"] == "admin" and a["active"]]
    assert len(active_admins) == 1


@pytest.mark.parametrize("value", [0, 1, "false", "true", "no", None])
def test_active_takes_a_json_boolean_only(value: object, client: TestClient,
                                          make_staff: Callable[..., str],
                                          auth_header: Callable[[str], Headers]) -> None:
    admin = auth_header("admin")
    clerk = make_staff("clerk")
    clerk_id = _id_of(client, admin, clerk)
    answer = client.patch(f"/v1/staff/{clerk_id}", headers=admin, json={"active": value})
    if value is None:  # "not given": nothing changes
        assert answer.status_code == 200 and answer.json()["active"] is True
        return
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_failed"
    listed = {a["username"]: a for a in client.get("/v1/staff", headers=admin).json()}
    assert listed[clerk]["active"] is True


@pytest.mark.parametrize("value", [0, "false"])
def test_a_partner_is_not_deactivated_by_a_number_or_a_string(
        value: object, client: TestClient, auth_header: Callable[[str], Headers]) -> None:
    admin = auth_header("admin")
    partner = client.post("/v1/partners", headers=admin,
                          json={"name": "Strict Museum", "type": "cultural"}).json()
    answer = client.patch(f"/v1/partners/{partner['id']}", headers=admin, json={"active": value})
    assert answer.status_code == 422, answer.text
    assert client.get(f"/v1/partners/{partner['id']}", headers=admin).json()["active"] is True
