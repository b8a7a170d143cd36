"""The chainer moves waiting entries with Core statements (rows in, one INSERT, one DELETE, one
UPDATE of the head): what lands in the chain is the waiting row's content, id and MAC, the head
follows, and a failure anywhere leaves everything where it was."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from sqlalchemy import text

from api.runtime import Runtime
from cityid.db import unit_of_work
from privacy import audit, repository
from privacy.audit import Actor

CLERK = Actor("clerk-7", "clerk")
CONTENT = "at, actor, role, action, subject, purpose, detail, mac"


def _record(runtime: Runtime, n: int) -> None:
    with unit_of_work(runtime.sessions) as session:
        for i in range(n):
            audit.record(session, actor=CLERK, action="seed.batch", subject=f"application:{i}",
                         detail={"count": i})


def _rows(runtime: Runtime, sql: str) -> list[tuple[Any, ...]]:
    def plain(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) and value.startswith("{") else value

    with runtime.engine.connect() as conn:
        return [tuple(plain(v) for v in row) for row in conn.execute(text(sql))]


def _counts(runtime: Runtime) -> tuple[int, int, tuple[Any, ...] | None]:
    with runtime.engine.connect() as conn:
        waiting = conn.execute(text("SELECT count(*) FROM audit_pending")).scalar_one()
        chained = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        head = conn.execute(text("SELECT seq, hash FROM audit_head")).first()
    return int(waiting), int(chained), tuple(head) if head is not None else None


def test_chained_entries_are_the_waiting_rows_with_their_ids_and_macs(runtime: Runtime) -> None:
    _record(runtime, 4)
    waiting = _rows(runtime, f"SELECT id, {CONTENT} FROM audit_pending ORDER BY id")
    with unit_of_work(runtime.sessions) as session:
        assert audit.chain_pending(session, limit=10) == 4
    chained = _rows(runtime, f"SELECT pending_id, {CONTENT} FROM audit_log ORDER BY seq")
    assert chained == waiting
    links = _rows(runtime, "SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")
    assert [seq for seq, _, _ in links] == [1, 2, 3, 4]
    assert links[0][1] == repository.GENESIS_HASH
    assert all(later[1] == earlier[2] for earlier, later in itertools.pairwise(links))
    assert _counts(runtime) == (0, 4, (4, links[-1][2]))
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).ok


def test_a_batch_takes_the_oldest_waiting_entries_and_the_next_continues_the_chain(
        runtime: Runtime) -> None:
    _record(runtime, 5)
    ids = [row[0] for row in _rows(runtime, "SELECT id FROM audit_pending ORDER BY id")]
    for limit, expected in ((2, 2), (10, 3), (10, 0)):
        with unit_of_work(runtime.sessions) as session:
            assert audit.chain_pending(session, limit=limit) == expected
    assert [r[0] for r in _rows(runtime, "SELECT pending_id FROM audit_log ORDER BY seq")] == ids
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).ok


def test_a_head_the_session_loaded_before_chaining_shows_the_new_head(runtime: Runtime) -> None:
    _record(runtime, 1)
    runtime.audit_chainer.drain()
    with unit_of_work(runtime.sessions) as session:
        before = repository.get_audit_head(session)
        assert before is not None and before.seq == 1
        audit.record(session, actor=CLERK, action="seed.batch", subject="application:9",
                     detail={"count": 9})
        session.flush()  # sessions don't autoflush; services flush
        assert audit.chain_pending(session) == 1
        after = repository.get_audit_head(session)
        assert after is not None
        assert (after.seq, after.hash) == (2, repository.audit_hashes(session, [2])[2])


def test_a_chainer_that_fails_after_moving_leaves_everything_waiting(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(runtime, 2)
    runtime.audit_chainer.drain()
    _record(runtime, 3)
    before = _counts(runtime)
    real_move = repository.move_into_chain

    def move_then_crash(*args: Any, **kwargs: Any) -> None:
        real_move(*args, **kwargs)
        raise RuntimeError("the process died before its commit")

    monkeypatch.setattr(repository, "move_into_chain", move_then_crash)
    with pytest.raises(RuntimeError), unit_of_work(runtime.sessions) as session:
        audit.chain_pending(session)
    assert _counts(runtime) == before == (3, 2, before[2])
    monkeypatch.setattr(repository, "move_into_chain", real_move)
    assert runtime.audit_chainer.drain() == 3
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).ok
