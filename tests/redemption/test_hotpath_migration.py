"""Migration 0014: the single-column card number index goes (the unique (number, issue) index
answers its lookups), and on PostgreSQL key and partner changes notify the key caches, while
the once-a-minute last_used_at write does not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from cityid.db import make_engine
from cityid.migrate import alembic_config, upgrade
from redemption.key_cache import CHANNEL
from tests.conftest import BACKEND, TEST_DATABASE_URL


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        return
    name = f"cityid_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _card_indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {str(i["name"]) for i in inspect(engine).get_indexes("cards")}
    finally:
        engine.dispose()


def test_the_duplicate_index_goes_and_comes_back_on_downgrade(empty_database: str) -> None:
    upgrade(empty_database, "0013")
    assert "ix_cards_card_number_index" in _card_indexes(empty_database)
    upgrade(empty_database, "0014")
    assert "ix_cards_card_number_index" not in _card_indexes(empty_database)
    command.downgrade(alembic_config(empty_database), "0013")
    assert "ix_cards_card_number_index" in _card_indexes(empty_database)


@pytest.mark.skipif(BACKEND != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_key_and_partner_changes_notify_and_last_use_does_not(empty_database: str) -> None:
    upgrade(empty_database, "0014")
    conninfo = make_url(empty_database).set(drivername="postgresql").render_as_string(
        hide_password=False)
    now = datetime.now(UTC).replace(tzinfo=None)
    partner, key = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(conninfo, autocommit=True) as listener, \
            psycopg.connect(conninfo, autocommit=True) as writer:
        listener.execute(f"LISTEN {CHANNEL}")
        writer.execute("INSERT INTO partners (id, name, name_key, type, active, created_at) "
                       "VALUES (%s, 'Museum', 'museum', 'cultural', true, %s)", (partner, now))
        writer.execute("INSERT INTO partner_keys (id, partner_id, prefix, key_hash, created_at, "
                       "expires_at) VALUES (%s, %s, 'cpk_00000000', %s, %s, %s)",
                       (key, partner, "0" * 64, now, now + timedelta(days=1)))

        def told(statement: str) -> bool:
            writer.execute(statement, (now, key) if "%s" in statement else None)
            return any(True for _ in listener.notifies(timeout=0.5, stop_after=1))

        assert not told("UPDATE partner_keys SET last_used_at = %s WHERE id = %s")
        assert told("UPDATE partner_keys SET revoked_at = %s WHERE id = %s")
        assert told("UPDATE partner_keys SET expires_at = %s WHERE id = %s")
        assert told("UPDATE partners SET active = false")
        assert told("DELETE FROM partner_keys")
