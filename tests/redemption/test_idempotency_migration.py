"""Migration 0009 turns the Idempotency-Keys already in the ledger into keyed hashes, the same
ones the ledger now writes, so a retry that spans the upgrade still finds its receipt."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from api.runtime import Runtime
from cityid.migrate import upgrade
from cityid.settings import get_settings
from redemption.models import Redemption
from tests.conftest import BACKEND, TEST_DATABASE_URL


@pytest.fixture
def fresh_url(tmp_path: object) -> Iterator[str]:
    """A database of its own, so it can stop at revision 0008."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path}/at-0008.db"
        return
    admin_url = make_url(TEST_DATABASE_URL)
    name = f"cityid_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_keys_in_the_ledger_before_the_upgrade_become_keyed_hashes(
        fresh_url: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade(fresh_url, "0008")
    partner_id, typed = uuid.uuid4(), "undocumented-visa-overstay-0001"
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        if BACKEND == "postgresql":  # a ledger row alone, without its partner and holder
            conn.execute(text("SET session_replication_role = replica"))
        conn.execute(insert(Redemption).values(
            id=uuid.uuid4(), benefit_id=uuid.uuid4(), partner_id=partner_id,
            resident_id=uuid.uuid4(), card_id=None, period_key="lifetime", slot=1,
            idempotency_key=typed, request_hash="0" * 64, receipt_number="R-0000000001",
            redeemed_at=datetime(2026, 11, 2, tzinfo=UTC)))
    # The migration finds the keyring the way the service does: from the settings.
    monkeypatch.setenv("CITYID_ENV", "development")
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    get_settings.cache_clear()
    try:
        upgrade(fresh_url)
    finally:
        get_settings.cache_clear()
    with engine.connect() as conn:
        stored = conn.execute(select(Redemption.idempotency_key)).scalar_one()
    engine.dispose()
    assert stored == runtime.vault.keyed_hash("idempotency-key", f"{partner_id}|{typed}")
