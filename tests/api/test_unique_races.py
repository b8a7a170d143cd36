"""Races on unique names answer 409 with the check's own code, never 500, on both backends."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from api.errors import database_error_response
from tests.conftest import STAFF_PASSWORD

Headers = dict[str, str]
RACERS = 20


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def _race(client: TestClient, send: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """RACERS requests released at once, each from its own thread."""
    start = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        response = send()
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=run) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _assert_one_created(answers: list[httpx.Response], code: str) -> None:
    assert Counter(a.status_code for a in answers) == {201: 1, 409: RACERS - 1}, \
        [a.text for a in answers if a.status_code not in (201, 409)]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == code


def test_concurrent_creations_of_one_username_give_one_account_and_409s(
        client: TestClient, admin: Headers) -> None:
    answers = _race(client, lambda: client.post("/v1/staff", headers=admin, json={
        "username": "racer", "password": STAFF_PASSWORD, "role": "clerk"}))
    _assert_one_created(answers, "username_taken")
    listed = client.get("/v1/staff", headers=admin).json()
    assert [a["username"] for a in listed].count("racer") == 1


def test_concurrent_creations_of_one_partner_name_give_one_partner_and_409s(
        client: TestClient, admin: Headers) -> None:
    answers = _race(client, lambda: client.post("/v1/partners", headers=admin, json={
        "name": "Museum of the Moving Image", "type": "cultural"}))
    _assert_one_created(answers, "partner_name_taken")
    names = [p["name"] for p in client.get("/v1/partners", headers=admin).json()]
    assert names.count("Museum of the Moving Image") == 1


@pytest.mark.parametrize(("first", "second"), [
    ("ÉCOLE Musée", "école musée"),
    ("Straße Galerie", "STRASSE GALERIE"),
    # full-width letters and space, folded by NFKC
    ("\uff2d\uff55\uff53\uff45\uff55\uff4d\u3000\uff2f\uff4e\uff45", "museum one"),
    ("Queens  Museum", "queens museum"),
])
def test_partner_names_equal_under_unicode_folding_are_one_name(
        first: str, second: str, client: TestClient, admin: Headers) -> None:
    created = client.post("/v1/partners", headers=admin, json={"name": first, "type": "cultural"})
    assert created.status_code == 201, created.text
    again = client.post("/v1/partners", headers=admin, json={"name": second, "type": "cultural"})
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "partner_name_taken"


def test_distinct_names_stay_distinct(client: TestClient, admin: Headers) -> None:
    for name in ("Musée A", "Musee A", "Museum B"):
        created = client.post("/v1/partners", headers=admin,
                              json={"name": name, "type": "cultural"})
        assert created.status_code == 201, created.text


class _Orig(Exception):
    pass


@pytest.mark.parametrize(("message", "code"), [
    ("UNIQUE constraint failed: staff_accounts.username", "username_taken"),
    ("UNIQUE constraint failed: partners.name_key", "partner_name_taken"),
    ("UNIQUE constraint failed: partner_keys.prefix", "already_exists"),
])
def test_sqlite_unique_violations_are_found_by_their_columns(message: str, code: str) -> None:
    response: Any = database_error_response(IntegrityError("INSERT", None, _Orig(message)))
    assert response is not None and response.status_code == 409
    assert code.encode() in response.body


def test_an_integrity_error_that_is_not_a_unique_constraint_is_not_a_conflict() -> None:
    error = IntegrityError("INSERT", None, _Orig("NOT NULL constraint failed: partners.type"))
    assert database_error_response(error) is None
