"""Anchoring the audit chain outside the database, and keeping waiting entries from vanishing.

The attacker here can write the database (the program's own connection or its owner) but holds
none of the keyring: not the signing keys, not the index key the entry MACs derive from.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from api.runtime import Runtime
from cityid.clock import FixedClock
from cityid.db import unit_of_work
from idcard.cose import HEADER_TYP, read_cose_sign1, verify_cose
from privacy import anchor, audit, repository
from privacy.audit import Actor
from tests.conftest import BACKEND

CLERK = Actor("clerk-1", "clerk")


def _record(runtime: Runtime, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with unit_of_work(runtime.sessions) as session:
            audit.record(session, actor=CLERK, action="seed.batch",
                         subject=f"application:{i}", detail={"count": i})


def _cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    from cityid.settings import get_settings
    from entry import cli

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.main, list(args))
    finally:
        get_settings.cache_clear()


def _owner(runtime: Runtime, *statements: str) -> None:
    """What the database's owner can do: switch the audit triggers off, then write."""
    with runtime.engine.begin() as conn:
        _disable(conn)
        for statement in statements:
            conn.execute(text(statement))


def _rewrite_whole_chain(runtime: Runtime) -> None:
    """A consistent rewrite: every entry changed and rehashed, MACs dropped (they can't be
    forged), the head row moved along and the heads published in the database removed."""
    with unit_of_work(runtime.sessions) as session:
        entries = list(repository.iter_audit_entries(session))
    prev, updates = repository.GENESIS_HASH, []
    for entry in entries:
        digest = audit.entry_hash(prev, seq=entry.seq, at=entry.at, actor=entry.actor,
                                  role=entry.role, action="application.denied",
                                  subject=entry.subject, purpose=entry.purpose,
                                  detail=entry.detail)
        updates.append({"seq": entry.seq, "prev": prev, "hash": digest})
        prev = digest
    with runtime.engine.begin() as conn:
        _disable(conn)
        for update in updates:
            conn.execute(text("UPDATE audit_log SET action = 'application.denied', mac = NULL, "
                              "prev_hash = :prev, hash = :hash WHERE seq = :seq"), update)
        conn.execute(text("UPDATE audit_head SET hash = :hash"), {"hash": prev})
        conn.execute(text("DELETE FROM audit_heads"))


def _cut_tail(runtime: Runtime, keep: int) -> None:
    with runtime.engine.connect() as conn:
        kept = conn.execute(text("SELECT hash FROM audit_log WHERE seq = :seq"),
                            {"seq": keep}).scalar_one()
    with runtime.engine.begin() as conn:
        _disable(conn)
        conn.execute(text("DELETE FROM audit_log WHERE seq > :seq"), {"seq": keep})
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"),
                     {"seq": keep, "hash": kept})
        conn.execute(text("DELETE FROM audit_heads"))


def _disable(conn: Connection) -> None:
    if BACKEND == "postgresql":
        for table in ("audit_log", "audit_pending", "audit_heads"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_heads_no_delete",
                        "audit_pending_only_moved"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))


@pytest.fixture(autouse=True)
def _triggers_back_on(runtime: Runtime) -> Iterator[None]:
    """The PostgreSQL test database outlives a test: switch back on what a test switched off."""
    yield
    if BACKEND == "postgresql":
        with runtime.engine.begin() as conn:
            for table in ("audit_log", "audit_pending", "audit_heads"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


@pytest.fixture
def anchors(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Five chained entries, their head appended to an anchors file by the CLI."""
    _record(runtime, 5)
    out = tmp_path / "anchors.jsonl"
    result = _cli(runtime, monkeypatch, "audit", "anchor", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "anchored entry 5" in result.output
    return out


# --- the anchors ----------------------------------------------------------------------------


def test_an_untouched_chain_holds_to_its_anchors(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    _record(runtime, 2, start=5)
    assert _cli(runtime, monkeypatch, "audit", "anchor", "--out", str(anchors)).exit_code == 0
    assert len(anchors.read_text().splitlines()) == 2
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 0, result.output
    assert "audit chain ok: 7 entries" in result.output
    assert ": 2, all hold (newest: entry 7" in result.output


def test_a_consistent_rewrite_of_the_whole_chain_is_caught_by_the_anchors(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    _rewrite_whole_chain(runtime)
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 2, result.output
    assert "BROKEN behind a published head: the anchor on line 1 (entry 5" in result.output
    assert "the chain was rewritten behind it" in result.output


def test_a_cut_tail_is_caught_by_the_anchors(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    _cut_tail(runtime, keep=3)
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 2, result.output
    assert "the anchor on line 1 (entry 5" in result.output
    assert "past the chain's end at entry 3: the chain was cut" in result.output


def test_a_cut_tail_that_grew_back_is_caught_as_a_rewrite(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    _cut_tail(runtime, keep=3)
    _record(runtime, 4, start=100)  # new entries take sequence numbers 4 to 7
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 2, result.output
    assert "does not match the chain's entry 5: the chain was rewritten" in result.output


def test_the_first_failing_anchor_is_named(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    _record(runtime, 3, start=5)
    assert _cli(runtime, monkeypatch, "audit", "anchor", "--out", str(anchors)).exit_code == 0
    _cut_tail(runtime, keep=6)  # the first anchor (entry 5) still holds, the second (8) not
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 2, result.output
    assert "the anchor on line 2 (entry 8" in result.output


def test_heads_published_in_the_database_catch_a_rewrite_without_the_file(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    """An attacker who rewrites the chain but leaves the published heads is caught by a plain
    verify: the heads are signed, and the database holds no key to re-sign them."""
    with unit_of_work(runtime.sessions) as session:
        entries = list(repository.iter_audit_entries(session))
    prev = repository.GENESIS_HASH
    with runtime.engine.begin() as conn:
        _disable(conn)
        for entry in entries:
            digest = audit.entry_hash(prev, seq=entry.seq, at=entry.at, actor=entry.actor,
                                      role=entry.role, action="application.denied",
                                      subject=entry.subject, purpose=entry.purpose,
                                      detail=entry.detail)
            conn.execute(text("UPDATE audit_log SET action = 'application.denied', mac = NULL, "
                              "prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": entry.seq})
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    result = _cli(runtime, monkeypatch, "audit", "verify")
    assert result.exit_code == 2, result.output
    assert "the head published in the database as number 1 (entry 5" in result.output


def test_no_head_is_signed_over_a_chain_that_contradicts_the_last_one(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> None:
    """Publishing after a rewrite would vouch for it: the publisher checks that the chain still
    holds the head it published last before it signs a new one."""
    with runtime.engine.connect() as conn:
        kept = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 3")).scalar_one()
    _owner(runtime, "DELETE FROM audit_log WHERE seq > 3")
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = :h"), {"h": kept})
    _record(runtime, 3, start=10)  # chained as entries 4 to 6
    result = _cli(runtime, monkeypatch, "audit", "anchor", "--out", str(anchors))
    assert result.exit_code == 1, result.output
    assert "no longer holds the head published last" in result.output
    assert len(anchors.read_text().splitlines()) == 1
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT max(seq) FROM audit_heads")).scalar_one() == 5


@pytest.mark.parametrize(("edit", "words"), [
    (lambda line: line.replace('"seq":5', '"seq":4'), "differs from the signed one"),
    (lambda line: line[:-20], "not JSON"),
    (lambda line: json.dumps({**json.loads(line), "signed": "AAAA"}), "not a COSE_Sign1"),
])
def test_an_anchor_that_was_edited_is_refused(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path,
        edit: object, words: str) -> None:
    assert callable(edit)
    anchors.write_text(edit(anchors.read_text().strip()) + "\n")
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors))
    assert result.exit_code == 2, result.output
    assert "the anchor on line 1 is not valid" in result.output
    assert words in result.output


def test_an_anchor_is_checked_against_the_key_set_given(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, anchors: Path,
        tmp_path: Path) -> None:
    other = tmp_path / "jwks.json"
    other.write_text(json.dumps({"keys": []}))
    result = _cli(runtime, monkeypatch, "audit", "verify", "--anchors", str(anchors),
                  "--jwks", str(other))
    assert result.exit_code == 2, result.output
    assert "not signed by a published key (unknown_key)" in result.output


# --- publication ----------------------------------------------------------------------------


@pytest.fixture
def still_client(app: FastAPI) -> TestClient:
    """A client of an app whose chainer thread is not running (no lifespan), so what is
    published is only what the test publishes."""
    return TestClient(app, raise_server_exceptions=False)


def test_the_published_head_is_public_and_checks_with_the_published_key_set(
        runtime: Runtime, still_client: TestClient) -> None:
    client = still_client
    _record(runtime, 3)
    runtime.audit_chainer.drain()
    response = client.get("/.well-known/cityid/audit-head")
    assert response.status_code == 200, response.text
    assert "public" in response.headers["cache-control"]
    body = response.json()
    with runtime.engine.connect() as conn:
        seq, digest = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    assert (body["seq"], body["hash"]) == (seq, digest) == (3, body["hash"])
    # What a verifier does with only the published documents:
    signed = base64.urlsafe_b64decode(body["signed"] + "=" * (-len(body["signed"]) % 4))
    message = read_cose_sign1(signed)
    assert message.protected[HEADER_TYP] == anchor.TYP
    verify_cose(message, client.get("/.well-known/cityid/jwks.json").json())
    payload = json.loads(message.payload)
    assert (payload["seq"], payload["hash"], payload["issuer"]) == (3, digest,
                                                                    runtime.settings.issuer)


def test_nothing_published_yet_is_a_404(still_client: TestClient) -> None:
    response = still_client.get("/.well-known/cityid/audit-head")
    assert response.status_code == 404
    assert response.json()["code"] == "audit_head_not_published"


def test_a_head_is_published_once_an_interval_and_only_when_it_moved(runtime: Runtime) -> None:
    clock = FixedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    publisher = anchor.HeadPublisher(signing=runtime.audit_publisher.signing,
                                     issuer=runtime.settings.issuer, clock=clock,
                                     every=timedelta(minutes=1))
    chainer = audit.Chainer(runtime.sessions, interval=1, publisher=publisher)

    def published() -> list[int]:
        with runtime.engine.connect() as conn:
            return list(conn.execute(text("SELECT seq FROM audit_heads ORDER BY id")).scalars())

    _record(runtime, 2)
    chainer.drain()
    assert published() == [2]  # the first head is due at once
    _record(runtime, 1, start=2)
    chainer.drain()
    clock.advance(timedelta(seconds=59))
    chainer.chain_once()
    assert published() == [2]  # moved, but the interval has not passed
    clock.advance(timedelta(seconds=1))
    chainer.chain_once()
    assert published() == [2, 3]
    clock.advance(timedelta(minutes=5))
    chainer.chain_once()
    assert published() == [2, 3]  # the interval passed, but the head did not move


def test_the_api_process_publishes_heads_while_it_runs(
        runtime: Runtime, client: TestClient) -> None:
    import time

    _record(runtime, 2)
    deadline = time.monotonic() + 10  # the chainer runs every half second
    response = client.get("/.well-known/cityid/audit-head")
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get("/.well-known/cityid/audit-head")
    assert response.status_code == 200, response.text
    assert response.json()["seq"] in (0, 1, 2)  # whatever was chained when it was due


def test_many_writers_chainers_and_publishers_keep_one_chain_and_true_heads(
        runtime: Runtime) -> None:
    """Eight writers, each publishing the head after each entry, and two chainers publishing
    at nearly every turn: one unbroken chain, and every head published matches it."""
    publisher = anchor.HeadPublisher(signing=runtime.audit_publisher.signing,
                                     issuer=runtime.settings.issuer, clock=runtime.clock,
                                     every=timedelta(microseconds=1))
    chainers = [audit.Chainer(runtime.sessions, interval=1, publisher=publisher)
                for _ in range(2)]
    done = threading.Event()

    def chain(chainer: audit.Chainer) -> int:
        linked = 0
        while not done.is_set():
            linked += chainer.chain_once()
        return linked

    def write(worker: int) -> None:
        for i in range(5):
            _record(runtime, 1, start=5 * worker + i)
            with unit_of_work(runtime.sessions) as session:
                assert publisher.publish(session, force=True) is not None

    with ThreadPoolExecutor(max_workers=10) as pool:
        running = [pool.submit(chain, c) for c in chainers]
        list(pool.map(write, range(8)))
        done.set()
        linked = sum(r.result() for r in running)
    linked += chainers[0].drain()
    assert linked == 40
    with unit_of_work(runtime.sessions) as session:
        report = audit.verify_chain(session)
        assert (report.ok, report.entries) == (True, 40), report.problem
        held = anchor.check_anchors(
            session, anchor.stored_anchors(session, runtime.audit_publisher.signing),
            chain_end=report.entries)
    assert held.ok, held.problem
    assert held.newest is not None and held.newest.seq == 40


# --- waiting entries ------------------------------------------------------------------------


def test_a_plain_delete_of_a_waiting_entry_is_refused(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(runtime, 3)
    statements = ["DELETE FROM audit_pending WHERE subject = 'application:1'",
                  "DELETE FROM audit_pending"]
    if BACKEND == "postgresql":
        statements.append("TRUNCATE audit_pending")
    for statement in statements:
        with pytest.raises(Exception, match=r"leave only into the chain|append-only"), \
                runtime.engine.begin() as conn:
            conn.execute(text(statement))
    result = _cli(runtime, monkeypatch, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "linked 3 waiting entries" in result.output
    assert "audit chain ok: 3 entries" in result.output


def test_a_forged_chain_link_that_releases_a_waiting_entry_is_caught(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the program's own connection (no trigger switched off): link the waiting
    entry into the chain yourself, altered, under its id and MAC, so the database lets the
    original go. The MAC no longer fits the content."""
    _record(runtime, 2)
    runtime.audit_chainer.drain()
    _record(runtime, 1, start=2)
    with runtime.engine.connect() as conn:
        pending = conn.execute(text("SELECT id, at, actor, role, subject, purpose, detail, mac "
                                    "FROM audit_pending")).one()
        head_seq, head_hash = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
    with unit_of_work(runtime.sessions) as session:
        waiting = repository.pending_audit_entries(session, 1)[0]
        at, detail = waiting.at, waiting.detail
    forged = audit.entry_hash(head_hash, seq=head_seq + 1, at=at, actor=pending.actor,
                              role=pending.role, action="application.withdrawn",
                              subject=pending.subject, purpose=pending.purpose, detail=detail)
    with runtime.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_log (seq, at, actor, role, action, subject, purpose, detail, "
            "prev_hash, hash, pending_id, mac) SELECT :seq, at, actor, role, "
            "'application.withdrawn', subject, purpose, detail, :prev, :hash, id, mac "
            "FROM audit_pending WHERE id = :id"),
            {"seq": head_seq + 1, "prev": head_hash, "hash": forged, "id": pending.id})
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"),
                     {"seq": head_seq + 1, "hash": forged})
        conn.execute(text("DELETE FROM audit_pending WHERE id = :id"), {"id": pending.id})
    result = _cli(runtime, monkeypatch, "audit", "verify")
    assert result.exit_code == 2, result.output
    assert f"BROKEN at entry {head_seq + 1}" in result.output
    assert "not written by this program" in result.output


def test_a_waiting_entry_written_around_the_program_is_caught_once_chained(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    _record(runtime, 1)
    with runtime.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_pending (at, actor, role, action, detail, mac) "
                          "SELECT at, 'admin-1', 'admin', 'staff.created', detail, mac "
                          "FROM audit_pending"))
    result = _cli(runtime, monkeypatch, "audit", "verify")
    assert result.exit_code == 2, result.output
    assert "BROKEN at entry 2" in result.output and "not written by this program" in result.output


def test_every_new_entry_needs_a_mac_once_entries_carry_them(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries chained before MACs existed pass without one; a MAC-less entry after one that
    has a MAC is a forgery."""
    _record(runtime, 3)
    runtime.audit_chainer.drain()
    _owner(runtime, "UPDATE audit_log SET mac = NULL WHERE seq = 1")
    assert _cli(runtime, monkeypatch, "audit", "verify").exit_code == 0
    _owner(runtime, "UPDATE audit_log SET mac = NULL WHERE seq = 3")
    result = _cli(runtime, monkeypatch, "audit", "verify")
    assert result.exit_code == 2, result.output
    assert "BROKEN at entry 3" in result.output and "MAC is missing" in result.output


def test_a_session_without_the_mac_key_cannot_record(runtime: Runtime) -> None:
    from sqlalchemy.orm import Session

    with Session(runtime.engine) as session, pytest.raises(RuntimeError, match="MAC key"):
        audit.record(session, actor=CLERK, action="application.created")
