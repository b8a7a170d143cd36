"""Keys in a PKCS#11 token (privacy/pkcs11.py), against a real SoftHSM2 token per test: the key
operations work inside it and answer as the file keyring does, no key leaves it, and the key
commands make, rotate and destroy keys in it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fastapi.testclient import TestClient
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import AttributeSensitive, KeyUnextractable

from api.runtime import Runtime
from cityid.clock import system_clock
from cityid.db import unit_of_work
from cityid.settings import Settings
from entry.cli.keys import init_token
from entry.runtime import token_provider_for
from idcard.credential import (
    CardClaims,
    generate_signing_key,
    generate_verifier_key,
    issue_credential,
    public_jwks,
)
from idcard.numbers import generate_card_number
from idcard.offline import offline_check
from idcard.statuslist import build_status_document
from idcard.verifier import Reason
from privacy import audit, repository
from privacy.errors import DecryptionFailed
from privacy.key_providers import FileKeyProvider
from privacy.keyring import Keyring
from privacy.pkcs11 import INDEX_LABEL, METADATA_LABEL, Pkcs11KeyProvider, kek_label
from privacy.vault import Vault, start_epoch, unwrap_dek, wrap_dek
from tests.softhsm import Token

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def token_provider(token: Token) -> Iterator[Pkcs11KeyProvider]:
    provider = token_provider_for(Settings.model_validate(token.settings()))
    yield provider
    provider.close()


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    """The runtime of these tests keeps its keys in the test's token, made there by init;
    a test marked ``file_keyring`` starts from the file keyring and leaves its token empty."""
    if request.node.get_closest_marker("file_keyring") is not None:
        return {"key_provider": "file"}
    token: Token = request.getfixturevalue("token")
    provider = token_provider_for(Settings.model_validate(token.settings()))
    init_token(provider, system_clock.now())
    provider.close()
    return token.settings()


@pytest.fixture
def file_keyring(tmp_path: Path) -> FileKeyProvider:
    """A file keyring with an Ed25519 and an ES256 signing key (ES256 active)."""
    provider = FileKeyProvider(tmp_path / "keys" / "keyring.json")
    keyring = provider.load().with_signing_key(generate_signing_key("EdDSA", now=NOW))
    keyring = keyring.with_signing_key(generate_signing_key("ES256", now=NOW))
    provider.save(keyring.with_verifier_key(generate_verifier_key(now=NOW)))
    return provider


def _session(provider: Pkcs11KeyProvider) -> Any:
    return provider._run(lambda session: session)


def test_fields_sealed_under_a_token_kek_open_and_the_wrapped_key_opens_only_in_the_token(
        runtime: Runtime) -> None:
    vault = runtime.vault
    assert isinstance(vault.provider, Pkcs11KeyProvider)
    owner = uuid.uuid4()
    with unit_of_work(runtime.sessions) as session:
        cipher = vault.create_data_key(session, owner).record("residents", owner)
        sealed = cipher.seal_text("first_name", "Zephyrine")
    with unit_of_work(runtime.sessions) as session:  # a new transaction unwraps in the token
        cipher = vault.open_data_key(session, owner).record("residents", owner)
        assert cipher.open_text("first_name", sealed) == "Zephyrine"
        stored = repository.get_data_key(session, owner)
        assert stored is not None
        with pytest.raises(DecryptionFailed):  # the DEK is bound to its owner
            unwrap_dek(vault.provider, uuid.uuid4(), stored.wrapped_dek, stored.kek_version)
    keyring = vault.keyring
    assert keyring.keks == {1: None} and keyring.index_key is None
    assert all(k.private is None and k.public is not None for k in keyring.signing_keys)


def test_a_file_keyring_imported_into_the_token_gives_the_file_keyrings_answers(
        file_keyring: FileKeyProvider, token_provider: Pkcs11KeyProvider) -> None:
    keyring = file_keyring.load()
    init_token(token_provider, NOW, imported=keyring)
    in_file, in_token = Vault(file_keyring), Vault(token_provider)
    # Blind indexes, keyed hashes and the audit MAC key are the same, so every index in the
    # database still finds its row after the move.
    assert in_token.blind_index("card-number", "1234") == in_file.blind_index("card-number",
                                                                              "1234")
    assert in_token.keyed_hash("idempotency-key", "k") == in_file.keyed_hash("idempotency-key",
                                                                             "k")
    assert audit.mac_key(in_token) == audit.mac_key(in_file)
    # A data key wrapped under the file's KEK unwraps in the token, and the other way round.
    owner, dek = uuid.uuid4(), os.urandom(32)
    assert unwrap_dek(token_provider, owner, wrap_dek(file_keyring, owner, dek, 1), 1) == dek
    assert unwrap_dek(file_keyring, owner, wrap_dek(token_provider, owner, dek, 1), 1) == dek
    # Ed25519 is deterministic: the token's signature is the file's, byte for byte. ECDSA is
    # not, so its signature is checked against the file key's public half.
    ed, es = keyring.signing_keys
    held = {k.kid: k for k in token_provider.load().signing_keys}
    assert in_token.sign(held[ed.kid], b"message") == in_file.sign(ed, b"message")
    public = es.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = in_token.sign(held[es.kid], b"message")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    public.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                       int.from_bytes(signature[32:], "big")),
                  b"message", ec.ECDSA(hashes.SHA256()))
    assert public_jwks(token_provider.load().signing_keys) == public_jwks(keyring.signing_keys)


def _claims() -> CardClaims:
    return CardClaims(card_number=generate_card_number(), issue_number=1, language="eng",
                      full_name="Zephyrine Quill", date_of_birth=date(1987, 3, 14))


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_a_card_signed_in_the_token_verifies_with_the_offline_verifier(
        token_provider: Pkcs11KeyProvider, alg: str) -> None:
    init_token(token_provider, NOW)
    vault = Vault(token_provider)
    if alg == "ES256":
        vault.add_signing_key(generate_signing_key("ES256", now=NOW, held=True))
    key = vault.active_signing_key()
    assert key is not None and key.alg == alg and key.private is None
    seal = vault.active_verifier_key()
    assert seal is not None
    qr = issue_credential(_claims(), key=key, issuer="https://id.city.example", issued_at=NOW,
                          not_before=NOW, expires_at=NOW + timedelta(days=365), status_index=7,
                          seal_with=seal, signer=vault.sign)
    jwks = public_jwks(vault.signing_keys())
    # The status list is signed in the token too.
    status = build_status_document([], [], key=key, issuer="https://id.city.example",
                                   issued_at=NOW, ttl=timedelta(hours=1), signer=vault.sign)
    verdict = offline_check(qr_text=qr, image=None, jwks=jwks, status_document=status,
                            now=NOW + timedelta(minutes=1), verifier_keys={seal.kid: seal.key})
    assert verdict.reason is Reason.OK
    assert verdict.fields is not None and verdict.fields.full_name == "Zephyrine Quill"
    # A stranger's key set does not verify it: the signature is the token key's.
    stranger = public_jwks([generate_signing_key(alg, now=NOW)])
    stranger["keys"][0]["kid"] = key.kid
    refused = offline_check(qr_text=qr, image=None, jwks=stranger, status_document=None,
                            now=NOW + timedelta(minutes=1), verifier_keys={seal.kid: seal.key})
    assert refused.reason is Reason.BAD_SIGNATURE


def test_a_card_issued_through_the_service_with_the_token_verifies_offline(
        runtime: Runtime, client: TestClient) -> None:
    from tests.redemption.helpers import make_cardholder

    card = make_cardholder(runtime)
    seal = runtime.vault.active_verifier_key()
    assert seal is not None
    jwks = client.get("/.well-known/cityid/jwks.json")
    status = client.get("/.well-known/cityid/status-list")
    assert jwks.status_code == 200 and status.status_code == 200
    verdict = offline_check(qr_text=card["qr"], image=None, jwks=jwks.json(),
                            status_document=status.content, now=runtime.clock.now(),
                            verifier_keys={seal.kid: seal.key})
    assert verdict.reason is Reason.OK


def test_no_key_material_can_be_read_or_wrapped_out_of_the_token(
        file_keyring: FileKeyProvider, token_provider: Pkcs11KeyProvider) -> None:
    # Imported keys (a city's move) and keys made in the token (after a rotation) alike.
    init_token(token_provider, NOW, imported=file_keyring.load())
    vault = Vault(token_provider)
    start_epoch(token_provider, now=NOW)
    vault.add_signing_key(generate_signing_key("EdDSA", now=NOW, held=True))
    session = _session(token_provider)
    keys = [*session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}),
            *session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})]
    labels = sorted(str(k[Attribute.LABEL]) for k in keys)
    assert kek_label(1) in labels and kek_label(2) in labels and INDEX_LABEL in labels
    assert len([label for label in labels if label.startswith("cityid/sign/")]) == 3
    # A key that may wrap others, as an attacker with the PIN would make.
    thief = session.generate_key(KeyType.AES, 256, label="thief", store=False,
                                 template={Attribute.WRAP: True, Attribute.EXTRACTABLE: True,
                                           Attribute.SENSITIVE: False})
    for key in keys:
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]
        with pytest.raises(KeyUnextractable):
            thief.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
    # Keys made inside the token were never extractable; the sensitive flag can't be lifted.
    made_inside = [k for k in keys if str(k[Attribute.LABEL]) == kek_label(2)]
    assert made_inside[0][Attribute.NEVER_EXTRACTABLE] is True
    with pytest.raises(pkcs11.exceptions.PKCS11Error):
        made_inside[0][Attribute.SENSITIVE] = False
    # The description the token keeps holds no KEK, index or signing key material.
    [data] = [d for d in session.get_objects({Attribute.CLASS: ObjectClass.DATA})
              if str(d[Attribute.LABEL]).startswith(METADATA_LABEL)]
    described = json.loads(bytes(data[Attribute.VALUE]))
    assert set(described["kek"]["versions"].values()) == {None}
    assert described["index_key"] is None
    assert {k["private"] for k in described["signing"]["keys"]} == {None}
    listed = token_provider.key_objects()
    assert len(listed) == len(keys) and not [k for k in listed if k["extractable"]]


def test_a_retired_kek_is_destroyed_in_the_token(token_provider: Pkcs11KeyProvider) -> None:
    init_token(token_provider, NOW)
    owner, dek = uuid.uuid4(), os.urandom(32)
    wrapped = wrap_dek(token_provider, owner, dek, 1)
    keyring = start_epoch(token_provider, now=NOW + timedelta(days=30))
    token_provider.save(keyring.without_kek(1))
    assert sorted(token_provider.load().keks) == [2]
    session = _session(token_provider)
    assert list(session.get_objects({Attribute.LABEL: kek_label(1)})) == []
    with pytest.raises(Exception, match="KEK version 1 is not in the PKCS#11 token"):
        unwrap_dek(token_provider, owner, wrapped, 1)


# --- the commands ----------------------------------------------------------------------------


Cli = Callable[..., Result]


@pytest.fixture
def token_cli(runtime: Runtime, token: Token, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`cityid` commands against the test's database and token."""
    from cityid.settings import get_settings
    from entry import cli as cli_module

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    for name, value in token.environment().items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli_module.main, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


@pytest.mark.file_keyring
def test_keys_init_makes_the_keyring_in_the_token_and_refuses_a_second_time(
        runtime: Runtime, token_cli: Cli) -> None:
    made = token_cli("keys", "init", "--provider", "pkcs11")
    assert made.exit_code == 0, made.output
    assert "made inside the token" in made.output
    again = token_cli("keys", "init", "--provider", "pkcs11")
    assert again.exit_code != 0 and "already holds a cityid keyring" in again.output


@pytest.mark.file_keyring
def test_keys_init_imports_a_file_keyring_and_the_rotation_commands_work_in_the_token(
        runtime: Runtime, token: Token, token_cli: Cli, tmp_path: Path) -> None:
    # The runtime of this test uses the file keyring; its residents move to the token.
    from tests.redemption.helpers import make_cardholder

    card = make_cardholder(runtime)
    file_path = runtime.settings.effective_keyring_path
    index_before = runtime.vault.blind_index("card-number", card["card_number"])
    imported = token_cli("keys", "init", "--provider", "pkcs11", "--from-file", str(file_path))
    assert imported.exit_code == 0, imported.output
    assert f"imported from {file_path}" in imported.output

    settings = runtime.settings.model_copy(update=token.settings())
    from entry.runtime import build_runtime
    moved = build_runtime(settings, clock=runtime.clock)
    try:
        assert moved.vault.blind_index("card-number", card["card_number"]) == index_before
        with unit_of_work(moved.sessions) as session:
            handle = moved.vault.open_data_key(session, card["resident_id"])
            assert handle.owner_id == card["resident_id"]

        rotated = token_cli("keys", "rotate")
        assert rotated.exit_code == 0, rotated.output
        assert "active KEK is now version 2" in rotated.output
        with unit_of_work(moved.sessions) as session:
            assert repository.count_data_keys_by_version(session) == {2: 1}
        retired = token_cli("keys", "retire-kek", "1")
        assert retired.exit_code == 0, retired.output
        assert sorted(moved.vault.keyring.keks) == [2]

        signing = token_cli("keys", "rotate-signing")
        assert signing.exit_code == 0, signing.output
        new_kid = moved.vault.keyring.active_signing_kid
        assert new_kid is not None and new_kid in signing.output
        active = moved.vault.active_signing_key()
        assert active is not None and active.private is None
        assert isinstance(active.public_key(), ed25519.Ed25519PublicKey)

        verifier = token_cli("keys", "rotate-verifier")
        assert verifier.exit_code == 0, verifier.output
        assert len(moved.vault.verifier_keys()) == 2

        status = token_cli("keys", "status")
        assert status.exit_code == 0 and "active KEK version: 2" in status.output
        export = token_cli("keys", "export", "--ceremony", str(uuid.uuid4()), "--out",
                           str(tmp_path / "out.json"))
        assert export.exit_code != 0
        assert not (tmp_path / "out.json").exists()
    finally:
        moved.engine.dispose()


def test_the_pin_comes_from_a_file_and_a_wrong_pin_is_refused(token: Token,
                                                              tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(token.pin + "\n")
    settings = Settings.model_validate({**token.settings(), "pkcs11_pin": "",
                                        "pkcs11_pin_file": pin_file})
    provider = token_provider_for(settings)
    init_token(provider, NOW)
    assert provider.load().active_kek == 1
    provider.close()
    wrong = Pkcs11KeyProvider(module=settings.pkcs11_module, token_label=token.label,
                              pin="0000-0000")
    with pytest.raises(Exception, match="cannot sign in to the PKCS#11 token"):
        wrong.load()


def test_production_refuses_the_token_provider_without_a_pin() -> None:
    with pytest.raises(ValueError, match="CITYID_PKCS11_PIN"):
        Settings.model_validate({"env": "production", "key_provider": "pkcs11",
                                 "database_url": "postgresql://cityid:a-long-strong-password@db/x",
                                 "argon2_memory_kib": 19456, "argon2_time_cost": 2})


def test_a_keyring_in_memory_keeps_the_file_answers() -> None:
    from privacy.key_providers import LoadedKeyring

    keyring = Keyring.generate(NOW)
    assert Vault(LoadedKeyring(keyring)).blind_index("p", "v") == \
        Vault(LoadedKeyring(Keyring.from_json(keyring.to_json()))).blind_index("p", "v")


def test_a_missing_softhsm_fails_under_ci_and_skips_elsewhere(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests import softhsm

    monkeypatch.setattr("tests.softhsm.shutil.which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="SoftHSM2 is needed under CI"):
        softhsm.start(tmp_path)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        softhsm.start(tmp_path)
