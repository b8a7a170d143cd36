from __future__ import annotations

import os
from pathlib import Path

import pytest

from privacy.errors import KeyringError
from privacy.keyring import EnvKeyProvider, FileKeyProvider, Keyring


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
