from __future__ import annotations

import os
from pathlib import Path

import pytest

from privacy.errors import KeyringError
from privacy.key_providers import EnvKeyProvider, FileKeyProvider
from privacy.keyring import Keyring


def test_the_keyring_file_is_made_on_first_use_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keyring.json"
    keyring = FileKeyProvider(path).load()
    assert path.stat().st_mode & 0o777 == 0o600
    assert FileKeyProvider(path).load() == keyring


def test_a_keyring_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    FileKeyProvider(path).load()
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        FileKeyProvider(path).load()


def test_the_environment_provider_reads_json_or_base64_and_is_read_only() -> None:
    import base64

    keyring = Keyring.generate()
    assert EnvKeyProvider(keyring.to_json()).load() == keyring
    encoded = base64.urlsafe_b64encode(keyring.to_json().encode()).decode()
    assert EnvKeyProvider(encoded).load() == keyring
    with pytest.raises(KeyringError, match="cannot be written"):
        EnvKeyProvider(keyring.to_json()).save(keyring)


@pytest.mark.parametrize("mutate", [
    lambda d: d["kek"]["versions"].update({"1": "AAAA"}),
    lambda d: d.update(index_key="A" * 43),
    lambda d: d["kek"].update(active=7),
    lambda d: d.update(format=9),
])
def test_malformed_or_weak_keyrings_are_refused(mutate, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    data = json.loads(Keyring.generate().to_json())
    mutate(data)
    with pytest.raises(KeyringError):
        Keyring.from_json(json.dumps(data))


def test_each_kek_version_records_when_its_epoch_began_and_the_file_keeps_it() -> None:
    from datetime import UTC, datetime, timedelta

    began = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    keyring = Keyring.generate(now=began)
    rolled = keyring.with_new_kek(now=began + timedelta(days=30))
    assert rolled.kek_began == {1: began, 2: began + timedelta(days=30)}
    assert Keyring.from_json(rolled.to_json()) == rolled
    assert rolled.without_kek(1).kek_began == {2: began + timedelta(days=30)}


def test_a_keyring_made_before_epochs_loads_and_its_epoch_counts_as_due() -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from privacy.epochs import EpochPolicy, active_epoch

    data = json.loads(Keyring.generate().to_json())
    del data["kek"]["began"]
    keyring = Keyring.from_json(json.dumps(data))
    assert keyring.kek_began == {}
    policy = EpochPolicy(length=timedelta(days=30), backup_retention=timedelta(days=30))
    assert active_epoch(keyring, {1: 3}, policy).overdue(datetime.now(UTC))


def test_the_keyring_folder_is_made_0700(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    FileKeyProvider(path).load()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
