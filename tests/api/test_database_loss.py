"""A lost database answers 503 database_unavailable with Retry-After, never 500; the pool
replaces dead connections; /readyz says so; and an answer given means its transaction
committed, so the audit matches the answers."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from api.runtime import Runtime
from cityid.db import database_unavailable, make_engine
from tests.conftest import BACKEND
from tests.factories import audit_trail
from tests.redemption.helpers import make_cardholder, make_partner

Headers = dict[str, str]


def postgres_only(test: Callable[..., None]) -> Callable[..., None]:
    """pg_terminate_backend has no SQLite counterpart; the SQLite case is the readyz test."""
    marked: Callable[..., None] = pytest.mark.postgres_only(pytest.mark.skipif(
        BACKEND != "postgresql", reason="kills PostgreSQL backends")(test))
    return marked


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The load below is one key from one address; the limiter is not what is tested here.
    return {"partner_requests_per_minute": 100_000,
            "partner_requests_per_minute_per_client": 100_000}


# These two hook the ORM engine, which the lean verification route (api/lean.py) does not use;
# its own dropped connections are tested in tests/redemption/test_hotpath.py.
normal_route = pytest.mark.parametrize("settings_overrides", [{
    "partner_requests_per_minute": 100_000, "partner_requests_per_minute_per_client": 100_000,
    "hot_path": False}])


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def desk(client: TestClient, admin: Headers, runtime: Runtime) -> tuple[Headers, str]:
    """A partner key and a card QR to verify."""
    _, key = make_partner(client, admin, "cultural")
    return key, make_cardholder(runtime)["qr"]


@pytest.fixture
def pg_admin(runtime: Runtime) -> Iterator[Engine]:
    """A connection outside the app's pool, as the superuser, to kill the app's backends."""
    url = runtime.engine.url.set(username="postgres")
    engine = make_engine(url.render_as_string(hide_password=False),
                         isolation_level="AUTOCOMMIT", poolclass=None)
    yield engine
    engine.dispose()


def _terminate_others(admin: Engine, database: str | None = None) -> int:
    """Terminates every backend of the database (the admin connection's own by default) but
    the admin connection itself."""
    with admin.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = coalesce(:name, current_database()) AND pid <> pg_backend_pid()"),
            {"name": database}).scalar_one())


def _assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "database_unavailable"
    assert int(answer.headers["retry-after"]) > 0


def _verifications(runtime: Runtime) -> int:
    return sum(1 for e in audit_trail(runtime) if e.action == "card.verified")


@postgres_only
@normal_route
def test_a_connection_killed_mid_request_answers_503_and_writes_nothing(
        client: TestClient, desk: tuple[Headers, str], runtime: Runtime,
        pg_admin: Engine) -> None:
    key, qr = desk
    before = _verifications(runtime)
    armed = threading.Event()

    @event.listens_for(runtime.engine, "before_cursor_execute")
    def _kill_own_backend(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The audit insert is the verification's last write: kill the backend just before it.
        if armed.is_set() and statement.lstrip().upper().startswith("INSERT INTO AUDIT"):
            armed.clear()
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with pg_admin.connect() as admin_conn:
                admin_conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    armed.set()
    answer = client.post("/v1/verify", headers=key, json={"qr": qr})
    _assert_unavailable(answer)
    assert not armed.is_set(), "the hook never fired: the test did not kill anything"
    # The pool threw the dead connection away: the same request answers at once.
    assert client.post("/v1/verify", headers=key, json={"qr": qr}).status_code == 200
    assert _verifications(runtime) == before + 1


@postgres_only
@normal_route
def test_a_connection_killed_at_commit_answers_503_and_commits_nothing(
        client: TestClient, desk: tuple[Headers, str], runtime: Runtime,
        pg_admin: Engine) -> None:
    """The session dependency commits after the route returned: a failure there is still the
    request's answer, not a reset connection or a 200 for a transaction that never was."""
    key, qr = desk
    before = _verifications(runtime)
    armed = threading.Event()

    # Only the request's own commit: the audit chainer and head publisher threads commit on
    # the same engine, and killing one of theirs would prove nothing about the request.
    @event.listens_for(runtime.engine, "after_cursor_execute")
    def _note_request_write(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_PENDING"):
            conn.info["wrote_audit_pending"] = True

    @event.listens_for(runtime.engine, "commit")
    def _kill_before_commit(conn: Any) -> None:
        if conn.info.pop("wrote_audit_pending", False) and armed.is_set():
            armed.clear()
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with pg_admin.connect() as admin_conn:
                admin_conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    armed.set()
    _assert_unavailable(client.post("/v1/verify", headers=key, json={"qr": qr}))
    assert not armed.is_set()
    assert _verifications(runtime) == before


@postgres_only
def test_killing_backends_under_load_gives_only_200s_and_503s_and_the_audit_matches(
        client: TestClient, desk: tuple[Headers, str], runtime: Runtime,
        pg_admin: Engine) -> None:
    key, qr = desk
    before = _verifications(runtime)
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            answer = client.post("/v1/verify", headers=key, json={"qr": qr})
            with lock:
                answers.append(answer)

    workers = [threading.Thread(target=load) for _ in range(8)]
    for worker in workers:
        worker.start()
    try:
        killed = 0
        for _ in range(10):
            time.sleep(0.1)
            killed += _terminate_others(pg_admin)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert killed > 0
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {200, 503}, [a.text for a in answers if a.status_code not in
                                         (200, 503)][:3]
    for answer in answers:
        if answer.status_code == 503:
            _assert_unavailable(answer)
    # Healed: the next requests are served.
    assert client.post("/v1/verify", headers=key, json={"qr": qr}).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert _verifications(runtime) == before + statuses[200] + 1


@pytest.fixture
def take_database_away(runtime: Runtime, pg_admin_or_none: Engine | None
                       ) -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
    """Two functions: one makes the database unreachable, one brings it back."""
    if BACKEND == "postgresql":
        assert pg_admin_or_none is not None
        admin, name = pg_admin_or_none, runtime.engine.url.database

        def away() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            _terminate_others(admin, name)

        def back() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))

        yield away, back
        back()
        return
    database = Path(str(runtime.engine.url.database))
    folder, moved = database.parent, database.parent.with_name(database.parent.name + ".away")

    def away_file() -> None:
        shutil.move(folder, moved)
        runtime.engine.dispose()  # open connections would keep the moved file

    def back_file() -> None:
        shutil.move(moved, folder)

    yield away_file, back_file
    if moved.exists():
        back_file()


@pytest.fixture
def pg_admin_or_none(runtime: Runtime) -> Iterator[Engine | None]:
    if BACKEND != "postgresql":
        yield None
        return
    url = runtime.engine.url.set(username="postgres", database="postgres")
    engine = make_engine(url.render_as_string(hide_password=False),
                         isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def test_readyz_turns_503_while_the_database_is_gone_and_200_when_it_is_back(
        client: TestClient, desk: tuple[Headers, str],
        take_database_away: tuple[Callable[[], None], Callable[[], None]],
        auth_header: Callable[[str], Headers]) -> None:
    key, qr = desk
    away, back = take_database_away
    assert client.get("/readyz").status_code == 200
    away()
    _assert_unavailable(client.get("/readyz"))
    _assert_unavailable(client.post("/v1/verify", headers=key, json={"qr": qr}))
    _assert_unavailable(client.post("/v1/auth/token",
                                    json={"username": "someone", "password": "x" * 12}))
    back()
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/verify", headers=key, json={"qr": qr}).status_code == 200


def _error_of(url: str, statement: str) -> OperationalError | ProgrammingError:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    except (OperationalError, ProgrammingError) as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def test_only_errors_of_reach_count_as_unavailable(tmp_path: Path, database_url: str) -> None:
    assert database_unavailable(_error_of(f"sqlite:///{tmp_path}/missing/dir/x.db", "SELECT 1"))
    if BACKEND == "postgresql":
        refused = make_url(database_url).set(port=1).render_as_string(hide_password=False)
        assert database_unavailable(_error_of(refused, "SELECT 1"))
    # A missing table is a bug in the program, and stays a 500 with a logged traceback.
    assert not database_unavailable(_error_of(database_url, "SELECT * FROM no_such_table"))
