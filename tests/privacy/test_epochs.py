"""Key epochs: a shred reaches every backup once its epoch's KEK is destroyed, the epoch rolls
on a schedule, and a roll survives being killed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment import residents
from privacy import repository
from privacy.errors import DataKeyShredded, DecryptionFailed, KeyringError
from privacy.models import DataKey
from privacy.vault import unwrap_dek, wrap_dek
from tests.factories import resident_data
from tests.privacy.conftest import Backup

ROOT = Path(__file__).resolve().parents[2]
Cli = Callable[..., Result]


@pytest.fixture
def clock() -> Clock:
    # The first epoch begins when the keyring file is made, on the real clock; this one starts
    # there and moves only when a test says so.
    return FixedClock(datetime.now(UTC))


@pytest.fixture
def cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Runs a `cityid` command against the test's database and keyring, on the test's clock."""
    import entry.runtime
    from cityid.settings import get_settings
    from entry import cli as cli_module

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    real_build = entry.runtime.build_runtime

    def build_on_test_clock(settings: Any, **kwargs: Any) -> Runtime:
        return real_build(settings, **{**kwargs, "clock": runtime.clock})

    monkeypatch.setattr(entry.runtime, "build_runtime", build_on_test_clock)

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli_module.main, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


def _register(runtime: Runtime, *names: str) -> list[uuid.UUID]:
    with unit_of_work(runtime.sessions) as session:
        return [residents.register_resident(
            session, vault=runtime.vault, data=resident_data(first_name=name)).id
            for name in names]


def _first_name(runtime: Runtime, resident_id: uuid.UUID) -> str:
    with unit_of_work(runtime.sessions) as session:
        return residents.read_resident(session, vault=runtime.vault,
                                                resident_id=resident_id).first_name


def _wrapped(runtime: Runtime, resident_id: uuid.UUID) -> DataKey:
    with unit_of_work(runtime.sessions) as session:
        key = repository.get_data_key(session, resident_id)
        assert key is not None
        return key


def test_a_backup_taken_before_a_shred_cannot_read_the_resident_once_the_epoch_closes(
        runtime: Runtime, clock: FixedClock, take_backup: Backup, cli: Cli) -> None:
    settings = runtime.settings
    ana, bo, cy = _register(runtime, "Ana", "Bo", "Cy")
    backup = take_backup()
    with unit_of_work(runtime.sessions) as session:
        assert runtime.vault.shred(session, ana)
    with pytest.raises(DataKeyShredded):
        _first_name(runtime, ana)
    # What the issue saw: the old backup and the live keyring still open the shredded resident.
    assert _first_name(backup, ana) == "Ana"

    # The daily schedule does nothing inside the epoch, and rolls it once it is over.
    inside = cli("keys", "rotate", "--if-due")
    assert inside.exit_code == 0, inside.output
    assert "nothing to do" in inside.output
    clock.advance(timedelta(days=settings.key_epoch_days, hours=1))
    rolled = cli("keys", "rotate", "--if-due")
    assert rolled.exit_code == 0, rolled.output
    assert "active KEK is now version 2" in rolled.output
    # The KEK of the closed epoch is kept while backups that need it may still be kept.
    early = cli("keys", "retire-kek")
    assert early.exit_code == 0, early.output
    assert "no KEK is due to be destroyed" in early.output
    assert _first_name(backup, ana) == "Ana"

    clock.advance(timedelta(days=settings.backup_retention_days, hours=1))
    retired = cli("keys", "retire-kek")
    assert retired.exit_code == 0, retired.output
    assert "KEK version 1 destroyed" in retired.output

    with pytest.raises(KeyringError):
        _first_name(backup, ana)
    stale = _wrapped(backup, ana)
    keyring = runtime.vault.keyring
    for version in keyring.keks:
        with pytest.raises(DecryptionFailed):
            unwrap_dek(runtime.vault.provider, ana, stale.wrapped_dek, version)
    # The live residents read from the live database, and from a backup of the new epoch.
    assert [_first_name(runtime, r) for r in (bo, cy)] == ["Bo", "Cy"]
    fresh = take_backup()
    assert [_first_name(fresh, r) for r in (bo, cy)] == ["Bo", "Cy"]
    with pytest.raises(DataKeyShredded):
        _first_name(fresh, ana)


def test_closing_the_epoch_at_once_makes_a_shred_reach_backups_at_once(
        runtime: Runtime, take_backup: Backup, cli: Cli) -> None:
    ana, bo = _register(runtime, "Ana", "Bo")
    backup = take_backup()
    with unit_of_work(runtime.sessions) as session:
        runtime.vault.shred(session, ana)
    assert cli("keys", "rotate").exit_code == 0
    retired = cli("keys", "retire-kek", "1")
    assert retired.exit_code == 0, retired.output
    assert "database backups from its epoch can no longer be restored" in retired.output
    with pytest.raises(KeyringError):
        _first_name(backup, ana)
    assert _first_name(runtime, bo) == "Bo"


def test_status_shows_each_epoch_and_warns_when_one_is_overdue(
        runtime: Runtime, clock: FixedClock, cli: Cli) -> None:
    _register(runtime, "Ana", "Bo", "Cy")
    began = runtime.vault.keyring.kek_began[1].date()
    epoch = timedelta(days=runtime.settings.key_epoch_days)
    status = cli("keys", "status")
    assert status.exit_code == 0, status.output
    retention = timedelta(days=runtime.settings.backup_retention_days)
    assert (f"KEK v1: began {began}, active, 3 data keys, rolls by {began + epoch}, destroy by "
            f"{began + epoch + retention}") in status.output
    assert "WARNING" not in status.output

    clock.advance(epoch + timedelta(days=1))
    overdue = cli("keys", "status").output
    assert "WARNING: epoch of KEK v1 is overdue" in overdue
    assert "`cityid keys rotate`" in overdue

    assert cli("keys", "rotate").exit_code == 0
    rolled_on = clock.now().date()
    after = cli("keys", "status").output
    assert (f"KEK v1: began {began}, closed {rolled_on}, 0 data keys, destroy by "
            f"{rolled_on + retention}") in after
    assert f"KEK v2: began {rolled_on}, active, 3 data keys" in after
    assert "WARNING" not in after

    clock.advance(retention + timedelta(days=1))
    late = cli("keys", "status").output
    assert "WARNING: epoch of KEK v1 is overdue" in late
    assert "`cityid keys retire-kek` to destroy KEK v1" in late


def test_retire_refuses_while_a_live_data_key_uses_the_old_kek_and_rotate_finishes_the_roll(
        runtime: Runtime, clock: FixedClock, cli: Cli) -> None:
    ids = _register(runtime, "Ana", "Bo")
    assert cli("keys", "rotate").exit_code == 0
    # A request that loaded the keyring just before the roll commits a data key under KEK 1
    # after the rewrap has passed it.
    late = uuid.uuid4()
    with unit_of_work(runtime.sessions) as session:
        repository.add_data_key(session, DataKey(
            owner_id=late, kek_version=1,
            wrapped_dek=wrap_dek(runtime.vault.provider, late, os.urandom(32), 1),
            created_at=clock.now()))
    refused = cli("keys", "retire-kek", "1")
    assert refused.exit_code == 1
    assert "1 data keys are still wrapped under version 1" in refused.output
    clock.advance(timedelta(days=runtime.settings.key_epoch_days * 2))
    assert "1 data keys are still wrapped under version 1" in cli("keys", "retire-kek").output
    assert 1 in runtime.vault.keyring.keks
    assert "the roll is unfinished" in cli("keys", "status").output

    again = cli("keys", "rotate")
    assert again.exit_code == 0, again.output
    assert "finishing the roll to KEK version 2: 1 data keys" in again.output
    assert runtime.vault.keyring.active_kek == 2
    assert cli("keys", "retire-kek", "1").exit_code == 0
    assert [_first_name(runtime, r) for r in ids] == ["Ana", "Bo"]
    with unit_of_work(runtime.sessions) as session:
        assert runtime.vault.open_data_key(session, late)


KILL_SCRIPT = """
import os, signal, sys
from privacy import repository, vault
point, rewraps, batches = sys.argv[1], [0], [0]
real_rewrap_all, real_rewrap_key = vault.rewrap_all, repository.rewrap_data_key

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def rewrap_all(keyring, run_batch, *, on_progress=None):
    if point == "after the new keyring is saved":
        die()
    def progress(n):
        batches[0] += 1
        if point == "between two batches" and batches[0] == 2:
            die()
    return real_rewrap_all(keyring, run_batch, on_progress=progress)

def rewrap_data_key(*args, **kwargs):
    rewraps[0] += 1
    moved = real_rewrap_key(*args, **kwargs)
    if point == "inside a batch" and rewraps[0] == 5:
        die()
    return moved

vault.rewrap_all, repository.rewrap_data_key = rewrap_all, rewrap_data_key
from entry import cli
cli.main(["keys", "rotate", "--batch", "3"])
"""


@pytest.mark.parametrize("point", ["after the new keyring is saved", "inside a batch",
                                   "between two batches"])
def test_a_roll_killed_with_sigkill_loses_nothing_and_a_rerun_finishes_it(
        runtime: Runtime, cli: Cli, point: str) -> None:
    names = [f"Name{i}" for i in range(10)]
    ids = _register(runtime, *names)
    env = {**os.environ, "CITYID_DATA_DIR": str(runtime.settings.data_dir),
           "CITYID_DATABASE_URL": runtime.settings.effective_database_url}
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, point], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert runtime.vault.keyring.active_kek == 2
    with unit_of_work(runtime.sessions) as session:
        left = repository.count_data_keys_by_version(session).get(1, 0)
    assert 0 < left <= 10
    assert [_first_name(runtime, r) for r in ids] == names
    assert cli("keys", "retire-kek", "1").exit_code == 1

    rerun = cli("keys", "rotate", "--batch", "3")
    assert rerun.exit_code == 0, rerun.output
    assert f"finishing the roll to KEK version 2: {left} data keys" in rerun.output
    assert set(runtime.vault.keyring.keks) == {1, 2}
    with unit_of_work(runtime.sessions) as session:
        assert repository.count_data_keys_by_version(session) == {2: 10}
    assert cli("keys", "retire-kek", "1").exit_code == 0
    assert [_first_name(runtime, r) for r in ids] == names


def test_a_data_key_under_a_kek_the_keyring_lacks_stops_the_roll_and_is_reported(
        runtime: Runtime, clock: FixedClock, cli: Cli) -> None:
    ids = _register(runtime, "Ana")
    with unit_of_work(runtime.sessions) as session:
        repository.add_data_key(session, DataKey(owner_id=uuid.uuid4(), kek_version=7,
                                                 wrapped_dek=os.urandom(60),
                                                 created_at=clock.now()))
    stopped = cli("keys", "rotate")
    assert stopped.exit_code == 1
    assert "wrapped under KEK version 7, which this keyring no longer has" in stopped.output
    assert runtime.vault.keyring.active_kek == 1
    assert "WARNING: KEK v7: 1 data keys, KEY MISSING FROM KEYRING" in cli("keys", "status").output
    assert _first_name(runtime, ids[0]) == "Ana"
