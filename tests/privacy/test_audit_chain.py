from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from api.runtime import Runtime
from cityid.db import unit_of_work
from cityid.settings import Settings
from privacy import audit
from privacy.audit import Actor
from tests.conftest import BACKEND

CLERK = Actor("clerk-1", "clerk")


def _record(runtime: Runtime, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with unit_of_work(runtime.sessions) as session:
            audit.record(session, actor=CLERK, action="seed.batch",
                         subject=f"application:{i}", detail={"count": i})


def _write_entries(runtime: Runtime, n: int) -> None:
    """Record n entries and link them into the chain."""
    _record(runtime, n)
    assert runtime.audit_chainer.drain() == n


def _waiting(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_pending")).scalar_one())


def _verify(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Result:
    from cityid.settings import get_settings
    from entry import cli

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.main, ["audit", "verify"])
    finally:
        get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _triggers_back_on(runtime: Runtime) -> Iterator[None]:
    """The PostgreSQL test database outlives a test: switch back on what ``_tamper`` disabled."""
    yield
    if BACKEND == "postgresql":
        with runtime.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def _tamper(runtime: Runtime, *statements: str) -> None:
    """What an owner of the database could do: drop the append-only triggers, then edit."""
    with runtime.engine.begin() as conn:
        if BACKEND == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def test_an_untouched_chain_verifies(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_entries(runtime, 5)
    result = _verify(runtime, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "audit chain ok: 5 entries" in result.output


def test_the_log_refuses_updates_and_deletes(runtime: Runtime) -> None:
    _write_entries(runtime, 1)
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), runtime.engine.begin() as conn:
            conn.execute(text(statement))


@pytest.mark.parametrize(("statements", "seq", "words"), [
    (["UPDATE audit_log SET action = 'application.denied' WHERE seq = 3"], 3, "altered"),
    (["UPDATE audit_log SET detail = '{\"count\": 9}' WHERE seq = 2"], 2, "altered"),
    (["DELETE FROM audit_log WHERE seq = 3"], 3, "missing"),
    (["DELETE FROM audit_log WHERE seq = 5"], 5, "missing"),
    (["UPDATE audit_log SET seq = 100 WHERE seq = 2",
      "UPDATE audit_log SET seq = 2 WHERE seq = 3",
      "UPDATE audit_log SET seq = 3 WHERE seq = 100"], 2, "does not follow"),
])
def test_verify_names_the_first_edited_deleted_or_reordered_entry(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, statements: list[str], seq: int,
        words: str) -> None:
    _write_entries(runtime, 5)
    _tamper(runtime, *statements)
    result = _verify(runtime, monkeypatch)
    assert result.exit_code == 2
    assert f"BROKEN at entry {seq}" in result.output
    assert words in result.output


def test_audit_fields_take_codes_not_free_text(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session, pytest.raises(ValueError, match="short code"):
        audit.record(session, actor=CLERK, action="note", detail={"reason": "Maria Lopez, 1987"})


def test_concurrent_appenders_and_chainers_keep_one_chain(runtime: Runtime) -> None:
    """Eight writers record while two chainers link, as two API processes would: every entry
    lands in the chain exactly once, in one unbroken chain."""
    from concurrent.futures import ThreadPoolExecutor

    done = threading.Event()

    def chainer() -> int:
        linked = 0
        while not done.is_set():
            linked += runtime.audit_chainer.chain_once()
        return linked

    with ThreadPoolExecutor(max_workers=10) as pool:
        chainers = [pool.submit(chainer) for _ in range(2)]
        list(pool.map(lambda w: _record(runtime, 5, start=5 * w), range(8)))
        done.set()
        linked = sum(c.result() for c in chainers)
    linked += runtime.audit_chainer.drain()
    assert linked == 40
    with unit_of_work(runtime.sessions) as session:
        report = audit.verify_chain(session)
    assert report.ok, report.problem
    assert (report.entries, report.waiting) == (40, 0)
    with runtime.engine.connect() as conn:
        subjects = conn.execute(text("SELECT subject FROM audit_log")).scalars().all()
    assert sorted(subjects) == sorted(f"application:{i}" for i in range(40))


def test_an_entry_waits_durably_until_chained_and_readers_see_it_once(runtime: Runtime) -> None:
    _record(runtime, 3)
    assert _waiting(runtime) == 3
    with unit_of_work(runtime.sessions) as session:
        report = audit.verify_chain(session)
        waiting = audit.entries_about(session, "application:1")
    assert (report.ok, report.entries, report.waiting) == (True, 0, 3)
    assert report.oldest_waiting is not None
    assert [(e.seq, e.action) for e in waiting] == [(None, "seed.batch")]
    assert runtime.audit_chainer.drain() == 3
    assert _waiting(runtime) == 0
    with unit_of_work(runtime.sessions) as session:
        chained = audit.entries_about(session, "application:1")
    assert [(e.seq, e.action, e.detail) for e in chained] == [(2, "seed.batch",
                                                                {"count": 1})]


def test_entries_join_the_chain_in_the_order_they_were_recorded(runtime: Runtime) -> None:
    _write_entries(runtime, 6)
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, subject FROM audit_log ORDER BY seq")).all()
    assert [subject for _, subject in rows] == [f"application:{i}" for i in range(6)]


def test_a_rolled_back_action_leaves_no_entry(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), unit_of_work(runtime.sessions) as session:
        audit.record(session, actor=CLERK, action="application.created", subject="application:9")
        raise RuntimeError("the action failed")
    assert _waiting(runtime) == 0


def test_waiting_entries_are_never_edited(runtime: Runtime) -> None:
    _record(runtime, 1)
    with pytest.raises(Exception, match="never edited"), runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_pending SET action = 'x'"))


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has one writer at a time anyway")
def test_recording_does_not_wait_for_the_chain_head(runtime: Runtime) -> None:
    """The reason for the waiting table: while the chain's head is locked (a chainer at work,
    or one stuck), requests still record their entries and commit; a second chainer steps
    aside instead of queueing. Before, every audited commit queued on that row."""
    from concurrent.futures import ThreadPoolExecutor

    from privacy import repository

    def another_request() -> int:
        _record(runtime, 1)
        return runtime.audit_chainer.chain_once()

    _write_entries(runtime, 1)  # the head row exists from the first chaining on
    holder = runtime.sessions()
    try:
        assert repository.lock_audit_head(holder) is not None
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(another_request)
            try:
                assert other.result(timeout=10) == 0  # recorded and committed; not chained
            finally:
                holder.rollback()  # releases a request that was blocked, if this failed
    finally:
        holder.close()
    assert _waiting(runtime) == 1
    assert runtime.audit_chainer.drain() == 1
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).entries == 2


def test_the_chainer_thread_links_entries_and_drains_on_stop(runtime: Runtime) -> None:
    chainer = audit.Chainer(runtime.sessions, interval=0.05)
    chainer.start()
    try:
        _record(runtime, 4)
        deadline = time.monotonic() + 10
        while _waiting(runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting(runtime) == 0
        _record(runtime, 2, start=4)
    finally:
        chainer.stop()
    assert _waiting(runtime) == 0
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).entries == 6


def test_the_cli_links_waiting_entries_before_it_verifies(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(runtime, 3)
    result = _verify(runtime, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "linked 3 waiting entries" in result.output
    assert "audit chain ok: 3 entries" in result.output


def test_the_api_process_chains_while_it_runs_and_leaves_nothing_waiting_at_shutdown(
        settings: Settings, runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(settings, runtime)
    with TestClient(app):
        _record(runtime, 3)
        deadline = time.monotonic() + 10  # the default interval is half a second
        while _waiting(runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting(runtime) == 0
        runtime.audit_chainer.stop()  # no thread from here on: only shutdown can link these
        _record(runtime, 2, start=3)
        assert _waiting(runtime) == 2
    assert _waiting(runtime) == 0
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).entries == 5
