"""Concurrent guesses can't outrun the sign-in throttle: each attempt takes its slot before the
password hash is checked, so at most the limit are ever evaluated, however many arrive at once."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from staff import service as staff_service

ATTEMPTS = 40


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"login_max_failures": 5, "login_max_failures_per_client": 12}


class CountedVerify:
    """Counts password checks. The pause stands in for a production-cost argon2id (tests use a
    cheap one), so attempts overlap as they do in service; nothing is decided by time."""

    def __init__(self, verify: Callable[..., bool]) -> None:
        self.verify, self.calls, self.lock = verify, 0, threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        with self.lock:
            self.calls += 1
        time.sleep(0.05)
        return self.verify(*args, **kwargs)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountedVerify]:
    counted = CountedVerify(staff_service.passwords.verify)
    monkeypatch.setattr(staff_service.passwords, "verify", counted)
    yield counted


def all_at_once(count: int, send: Callable[[int], httpx.Response]) -> list[int]:
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        barrier.wait()
        return send(i).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_wrong_passwords_for_one_account_evaluate_at_most_the_limit(
        client: TestClient, make_staff: Callable[..., str], runtime: Runtime,
        verifications: CountedVerify) -> None:
    username = make_staff("clerk")
    statuses = all_at_once(ATTEMPTS, lambda _: client.post(
        "/v1/auth/token", json={"username": username, "password": "wrong password!"}))
    limit = runtime.settings.login_max_failures
    assert verifications.calls == limit
    assert sorted(statuses) == [401] * limit + [429] * (ATTEMPTS - limit)


def test_concurrent_guesses_across_accounts_evaluate_at_most_the_client_limit(
        client: TestClient, runtime: Runtime, verifications: CountedVerify) -> None:
    statuses = all_at_once(ATTEMPTS, lambda i: client.post(
        "/v1/auth/token", json={"username": f"someone-{i}", "password": "wrong password!"}))
    limit = runtime.settings.login_max_failures_per_client
    assert verifications.calls == limit
    assert sorted(statuses) == [401] * limit + [429] * (ATTEMPTS - limit)


def test_concurrent_wrong_passwords_on_the_web_sign_in_evaluate_at_most_the_limit(
        client: TestClient, make_staff: Callable[..., str], runtime: Runtime,
        verifications: CountedVerify) -> None:
    username = make_staff("clerk")
    page = client.get("/signin")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    token, nonce = found.group(1), page.cookies["cityid_csrf"]
    statuses = all_at_once(ATTEMPTS, lambda _: client.post(
        "/signin", headers={"Cookie": f"cityid_csrf={nonce}"},
        data={"username": username, "password": "wrong password!", "csrf_token": token}))
    limit = runtime.settings.login_max_failures
    assert verifications.calls == limit
    assert sorted(statuses) == [401] * limit + [429] * (ATTEMPTS - limit)


def test_a_success_gives_the_account_its_attempts_back(
        client: TestClient, make_staff: Callable[..., str], runtime: Runtime) -> None:
    from tests.conftest import STAFF_PASSWORD

    username = make_staff("clerk")
    for _ in range(2):  # within the client's limit, which counts every attempt
        for _ in range(runtime.settings.login_max_failures - 1):
            assert client.post("/v1/auth/token", json={
                "username": username, "password": "wrong password!"}).status_code == 401
        assert client.post("/v1/auth/token", json={
            "username": username, "password": STAFF_PASSWORD}).status_code == 200
