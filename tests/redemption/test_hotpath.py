"""The lean verification route on PostgreSQL: cached keys stop working on every worker within a
second of a revocation, an expiry change or a partner's deactivation; a dropped database
connection is tried once more or answered with a clear 503, never a 500 or an unaudited answer.

"Another worker" is a second app with its own runtime, pool and key cache on the same database,
as a second ``cityid serve`` worker process has."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.lean import LeanVerifyMiddleware, lean_of
from api.runtime import Runtime
from cityid.settings import Settings
from entry.runtime import build_runtime
from partners import keys as partner_keys
from redemption import hot_repository
from tests.conftest import BACKEND
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, kill_hot_connections, make_cardholder, make_partner

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="the lean route and its key cache serve PostgreSQL")


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def other_worker(settings: Settings) -> Iterator[TestClient]:
    runtime = build_runtime(settings)
    try:
        with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
            yield client
    finally:
        runtime.engine.dispose()


def _lean(client: TestClient) -> LeanVerifyMiddleware:
    lean = lean_of(client.app)
    assert lean is not None and lean.enabled
    return lean


def _cached_on(worker: TestClient, key: Headers, qr: str) -> LeanVerifyMiddleware:
    """Verify on ``worker`` until its cache holds the key (the listener starts with the first
    request; a lookup made before it listens is not cached)."""
    lean = _lean(worker)
    key_hash = partner_keys.key_hash(key["Authorization"].removeprefix("Bearer "))
    for _ in range(50):
        response = worker.post("/v1/verify", headers=key, json={"qr": qr})
        assert response.status_code == 200, response.text
        if lean.keys.get(key_hash) is not None:
            return lean
        lean.keys.wait_listening(0.1)
    raise AssertionError("the key was never cached")


def _refused_within_a_second(worker: TestClient, key: Headers, qr: str, code: str) -> float:
    started = time.monotonic()
    while True:
        response = worker.post("/v1/verify", headers=key, json={"qr": qr})
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            assert response.status_code in (401, 403) and response.json()["code"] == code
            return elapsed
        assert elapsed < 1.0, "the other worker still took the key after a second"
        time.sleep(0.02)


def test_a_revoked_key_fails_on_another_worker_within_a_second(
        client: TestClient, other_worker: TestClient, admin: Headers, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    partner, key = make_partner(client, admin, "cultural")
    _cached_on(other_worker, key, holder["qr"])
    key_id = client.get(f"/v1/partners/{partner['id']}/keys", headers=admin).json()[0]["id"]
    revoked = client.post(f"/v1/partners/{partner['id']}/keys/{key_id}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert _refused_within_a_second(other_worker, key, holder["qr"], "key_revoked") < 1.0


def test_a_deactivated_partner_fails_on_another_worker_within_a_second(
        client: TestClient, other_worker: TestClient, admin: Headers, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    partner, key = make_partner(client, admin, "library")
    _cached_on(other_worker, key, holder["qr"])
    changed = client.patch(f"/v1/partners/{partner['id']}", headers=admin,
                           json={"active": False})
    assert changed.status_code == 200, changed.text
    assert _refused_within_a_second(other_worker, key, holder["qr"], "partner_inactive") < 1.0


def test_an_expiry_brought_forward_fails_on_another_worker_within_a_second(
        client: TestClient, other_worker: TestClient, admin: Headers, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    partner, key = make_partner(client, admin, "benefit")
    _cached_on(other_worker, key, holder["qr"])
    with runtime.engine.begin() as conn:  # no route changes an expiry: an operator's fix
        conn.execute(text("UPDATE partner_keys SET expires_at = now() - interval '1 minute' "
                          "WHERE partner_id = :p"), {"p": partner["id"]})
    assert _refused_within_a_second(other_worker, key, holder["qr"], "key_expired") < 1.0


def test_a_lost_listener_stops_the_cache_being_used(
        client: TestClient, admin: Headers, runtime: Runtime) -> None:
    holder = make_cardholder(runtime)
    _, key = make_partner(client, admin, "cultural")
    lean = _cached_on(client, key, holder["qr"])
    with runtime.engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = :name AND datname = current_database()"),
                     {"name": hot_repository.LISTENER_NAME})
    deadline = time.monotonic() + 2
    while lean.keys.listening and time.monotonic() < deadline:
        time.sleep(0.02)
    key_hash = partner_keys.key_hash(key["Authorization"].removeprefix("Bearer "))
    assert lean.keys.get(key_hash) is None  # dropped, and not used until listening again
    response = client.post("/v1/verify", headers=key, json={"qr": holder["qr"]})
    assert response.status_code == 200 and response.json()["reason"] == "ok"


def test_a_connection_dropped_during_a_verification_is_tried_once_more(
        client: TestClient, admin: Headers, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    holder = make_cardholder(runtime)
    _, key = make_partner(client, admin, "cultural")
    assert client.post("/v1/verify", headers=key, json={"qr": holder["qr"]}).status_code == 200
    original = hot_repository.add_entry
    calls: list[int] = []

    async def cut_then_write(db: Any, entry: Any) -> None:
        # The card was read; the connection dies before the audit entry is written.
        calls.append(kill_hot_connections(runtime))
        await original(db, entry)

    monkeypatch.setattr(hot_repository, "add_entry", cut_then_write)
    before = len(audit_trail(runtime))
    response = client.post("/v1/verify", headers=key, json={"qr": holder["qr"]})
    assert response.status_code == 200 and response.json()["reason"] == "ok"
    assert calls and calls[0] >= 1  # a connection really was cut
    assert _lean(client).answered >= 2
    trail = audit_trail(runtime)
    assert len(trail) == before + 1 and trail[-1].action == "card.verified"
    assert trail[-1].detail["reason"] == "ok"


def test_a_database_that_stays_away_is_a_503_and_nothing_is_disclosed(
        client: TestClient, admin: Headers, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    holder = make_cardholder(runtime)
    _, key = make_partner(client, admin, "cultural")
    assert client.post("/v1/verify", headers=key, json={"qr": holder["qr"]}).status_code == 200
    before = len(audit_trail(runtime))

    async def refused(_self: Any) -> Any:
        raise psycopg.OperationalError("connection refused")

    original = hot_repository.add_entry

    async def cut_then_write(db: Any, entry: Any) -> None:
        kill_hot_connections(runtime)
        monkeypatch.setattr(hot_repository.HotDatabase, "_connect", refused)
        await original(db, entry)

    monkeypatch.setattr(hot_repository, "add_entry", cut_then_write)
    response = client.post("/v1/verify", headers=key, json={"qr": holder["qr"]})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "2"
    assert "disclosed" not in response.json() and "holder_token" not in response.text
    assert len(audit_trail(runtime)) == before  # no answer went out, and none was audited
