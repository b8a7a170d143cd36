"""Migration 0011 gives existing partners their name key, even where two names were distinct
only under SQLite's ASCII-only lower()."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cityid.db import make_engine, name_key
from cityid.migrate import upgrade
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


def test_existing_partners_get_unique_name_keys(empty_database: str) -> None:
    upgrade(empty_database, "0008")
    engine = make_engine(empty_database)
    names = ["ÉCOLE Musée", "école musée", "Queens Library"]
    with engine.begin() as conn:
        for i, name in enumerate(names):
            conn.execute(text("INSERT INTO partners (id, name, type, active, created_at) "
                              "VALUES (:id, :name, 'cultural', :active, :at)"),
                         {"id": uuid.uuid4().hex if BACKEND == "sqlite" else uuid.uuid4(),
                          "name": name, "active": True,
                          "at": datetime(2026, 1, 1 + i, tzinfo=UTC).replace(tzinfo=None)})
    engine.dispose()
    upgrade(empty_database)
    engine = make_engine(empty_database)
    with engine.connect() as conn:
        keys: dict[str, str] = {name: key for name, key in conn.execute(
            text("SELECT name, name_key FROM partners"))}
    engine.dispose()
    assert keys["ÉCOLE Musée"] == name_key("ÉCOLE Musée") == "école musée"
    assert keys["Queens Library"] == "queens library"
    # The later of two names that now compare equal keeps working under a key of its own.
    assert keys["école musée"].startswith("école musée #")
    assert len(set(keys.values())) == 3
