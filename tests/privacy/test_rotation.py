from __future__ import annotations

import re
import uuid

import pytest
from click.testing import CliRunner

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import residents
from privacy import repository
from privacy.errors import KeyringError
from privacy.keyring import Keyring
from privacy.vault import rewrap_batch, rotate_kek
from tests.factories import resident_data


def _register(runtime: Runtime, n: int) -> list[uuid.UUID]:
    ids = []
    with unit_of_work(runtime.sessions) as session:
        for i in range(n):
            ids.append(residents.register_resident(
                session, vault=runtime.vault, data=resident_data(first_name=f"Name{i}")).id)
    return ids


def _read_all(runtime: Runtime, ids: list[uuid.UUID]) -> list[str]:
    with unit_of_work(runtime.sessions) as session:
        return [residents.read_resident(session, vault=runtime.vault,
                                                 resident_id=i).first_name for i in ids]


def _rotate(runtime: Runtime, batch: int = 3) -> Keyring:
    def run_batch(keyring: Keyring) -> int:
        with unit_of_work(runtime.sessions) as session:
            return rewrap_batch(session, runtime.vault.provider, keyring, batch)

    return rotate_kek(runtime.vault.provider, run_batch, now=runtime.clock.now())


def test_records_written_before_rotation_decrypt_after_it_and_after_the_old_kek_is_gone(
        runtime: Runtime) -> None:
    ids = _register(runtime, 7)
    keyring = _rotate(runtime)
    assert keyring.active_kek == 2
    with unit_of_work(runtime.sessions) as session:
        assert repository.count_data_keys_by_version(session) == {2: 7}
    assert _read_all(runtime, ids) == [f"Name{i}" for i in range(7)]
    provider = runtime.vault.provider
    provider.save(provider.load().without_kek(1))
    assert set(runtime.vault.keyring.keks) == {2}
    assert _read_all(runtime, ids) == [f"Name{i}" for i in range(7)]
    later = _register(runtime, 1)
    assert _read_all(runtime, later) == ["Name0"]


def test_without_rotation_removing_the_kek_loses_the_records(runtime: Runtime) -> None:
    """The control for the test above: the old KEK really was needed before the rewrap."""
    ids = _register(runtime, 1)
    provider = runtime.vault.provider
    provider.save(provider.load().with_new_kek().without_kek(1))
    with pytest.raises(KeyringError):
        _read_all(runtime, ids)


def test_the_cli_rotates_and_refuses_to_retire_a_kek_still_in_use(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from cityid.settings import get_settings
    from entry import cli

    ids = _register(runtime, 4)
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(cli.main, ["keys", "retire-kek", "1"])
        assert refused.exit_code == 1
        assert "4 data keys are still wrapped under version 1" in refused.output
        rotated = runner.invoke(cli.main, ["keys", "rotate", "--batch", "2"])
        assert rotated.exit_code == 0, rotated.output
        assert "active KEK is now version 2" in rotated.output
        status = runner.invoke(cli.main, ["keys", "status"])
        assert re.search(r"KEK v1: began [-0-9]+, closed [-0-9]+, 0 data keys, destroy by",
                         status.output), status.output
        assert re.search(r"KEK v2: began [-0-9]+, active, 4 data keys, rolls by", status.output)
        retired = runner.invoke(cli.main, ["keys", "retire-kek", "1"])
        assert retired.exit_code == 0, retired.output
    finally:
        get_settings.cache_clear()
    assert _read_all(runtime, ids) == ["Name0", "Name1", "Name2", "Name3"]
