"""On the embedded default the keyring lives beside the data folder, not in it, and `cityid serve`
says where on first run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from privacy.key_providers import FileKeyProvider


def _serve(data_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    import uvicorn

    from cityid.settings import get_settings
    from entry import cli

    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    monkeypatch.setenv("CITYID_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert started, "serve did not start the server"
    return result


def _lines(result: Result, needle: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if needle in line]


def test_serve_says_on_first_run_where_the_keyring_is_and_a_copy_of_the_data_folder_lacks_it(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "var"
    first = _serve(data_dir, database_url, monkeypatch)
    keyring_path = tmp_path / "keys" / "keyring.json"
    said = _lines(first, "keyring created at")
    assert said == [f"keyring created at {keyring_path.resolve()}: back it up apart from the "
                    "database; losing it loses every record"]
    assert keyring_path.parent.stat().st_mode & 0o777 == 0o700
    assert keyring_path.stat().st_mode & 0o777 == 0o600

    copy = tmp_path / "copy-of-var"
    shutil.copytree(data_dir, copy)
    secrets = json.loads(keyring_path.read_text())
    kek = secrets["kek"]["versions"]["1"].encode()
    for path in copy.rglob("*"):
        if path.is_file():
            assert path.name != "keyring.json"
            assert kek not in path.read_bytes(), f"{path} holds the KEK"

    again = _serve(data_dir, database_url, monkeypatch)
    assert not _lines(again, "keyring created at")
    assert not _lines(again, "notice:")


def test_a_keyring_inside_the_data_folder_keeps_working_with_a_notice_to_move_it(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "var"
    legacy = data_dir / "keyring.json"
    made = FileKeyProvider(legacy).load()
    result = _serve(data_dir, database_url, monkeypatch)
    notice = _lines(result, "notice:")
    assert len(notice) == 1
    assert f"move it to {tmp_path / 'keys' / 'keyring.json'}" in notice[0]
    assert not _lines(result, "keyring created at")
    assert not (tmp_path / "keys").exists()
    assert FileKeyProvider(legacy).load().keks == made.keks
