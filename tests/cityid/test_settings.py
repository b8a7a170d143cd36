from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cityid.settings import Settings
from privacy.keyring import Keyring

ROOT = Path(__file__).resolve().parents[2]
STRONG = "postgresql+psycopg://cityid:Tq8v-2mZr-Lx4w-9Npa@db:5432/cityid"


def test_development_needs_no_configuration(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path.as_posix()}/cityid.db"


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://cityid:postgres@db/cityid",
    "postgresql+psycopg://cityid:changeme@db/cityid",
    "postgresql+psycopg://cityid@db/cityid",
    "postgresql+psycopg://cityid:short@db/cityid",
])
def test_production_refuses_weak_database_passwords(url: str) -> None:
    with pytest.raises(ValidationError, match="weak or default password"):
        Settings(env="production", database_url=url, key_provider="env",
                 keyring=Keyring.generate().to_json())


def test_production_refuses_sqlite_a_missing_keyring_and_cheap_hashing() -> None:
    with pytest.raises(ValidationError, match="production needs PostgreSQL"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="needs CITYID_KEYRING"):
        Settings(env="production", database_url=STRONG, key_provider="env")
    with pytest.raises(ValidationError, match="argon2id cost"):
        Settings(env="production", database_url=STRONG, argon2_memory_kib=4096)


def test_production_accepts_strong_settings() -> None:
    settings = Settings(env="production", database_url=STRONG, key_provider="env",
                        keyring=Keyring.generate().to_json())
    assert settings.env == "production"


def test_every_setting_docker_compose_passes_exists_in_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    passed = {name for service in compose["services"].values()
              for name in (service.get("environment") or {}) if name.startswith("CITYID_")}
    assert passed, "docker-compose passes no CITYID_ settings"
    known = {f"CITYID_{name.upper()}" for name in Settings.model_fields}
    assert passed <= known, f"unknown settings in docker-compose.yml: {passed - known}"
    api = compose["services"]["api"]
    assert api["command"][0] == "cityid" and api["command"][1] == "serve"
    assert int(api["command"][api["command"].index("--workers") + 1]) > 1


def test_the_dockerfile_installs_the_project_as_the_readme_does() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "pip install --no-cache-dir -e ." in dockerfile
    assert "pip install -e ." in readme


def test_the_default_keyring_is_beside_the_data_folder_not_in_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    assert settings.effective_keyring_path == tmp_path / "keys" / "keyring.json"
    assert not settings.effective_keyring_path.is_relative_to(settings.data_dir)


def test_a_keyring_left_in_the_data_folder_by_an_older_version_is_still_used(
        tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "keyring.json").write_text("{}")
    settings = Settings(data_dir=tmp_path / "var")
    assert settings.effective_keyring_path == tmp_path / "var" / "keyring.json"


def test_backups_kept_longer_than_one_key_epoch_are_refused() -> None:
    with pytest.raises(ValidationError, match="must not exceed CITYID_KEY_EPOCH_DAYS"):
        Settings(key_epoch_days=30, backup_retention_days=31)
    assert Settings(key_epoch_days=30, backup_retention_days=7).backup_retention_days == 7
def test_trusted_proxies_are_read_as_a_comma_separated_list_of_networks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYID_TRUSTED_PROXIES", "172.30.0.10, 10.0.0.0/8")
    assert Settings().trusted_proxies == ["172.30.0.10/32", "10.0.0.0/8"]
    monkeypatch.delenv("CITYID_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_refuses_to_start(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CITYID_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError):
        Settings()
