from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from api.runtime import Runtime
from cityid.db import unit_of_work
from privacy import audit
from privacy.audit import Actor
from tests.conftest import BACKEND

CLERK = Actor("clerk-1", "clerk")


def _write_entries(runtime: Runtime, n: int) -> None:
    for i in range(n):
        with unit_of_work(runtime.sessions) as session:
            audit.record(session, actor=CLERK, action="application.created",
                         subject=f"application:{i}", detail={"n": i})


def _verify(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Result:
    from cityid import cli
    from cityid.settings import get_settings

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.main, ["audit", "verify"])
    finally:
        get_settings.cache_clear()


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
    (["UPDATE audit_log SET detail = '{\"n\": 9}' WHERE seq = 2"], 2, "altered"),
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


def test_concurrent_appenders_keep_one_chain(runtime: Runtime) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: _write_entries(runtime, 5), range(8)))
    with unit_of_work(runtime.sessions) as session:
        report = audit.verify_chain(session)
    assert report.ok, report.problem
    assert report.entries == 40
