"""Envelope encryption of personal fields.

Each resident has a random 256-bit data key (DEK). Personal fields are AES-256-GCM ciphertext under
that DEK, with associated data naming table, column and row, so a ciphertext cannot be moved to
another row or column. DEKs are stored wrapped by a versioned key-encryption key (KEK) that never
enters the database. Deleting a DEK shreds every copy of the resident's ciphertext.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from privacy import repository
from privacy.errors import DataKeyShredded, DecryptionFailed, KeyringError
from privacy.keyring import KeyProvider, Keyring, SigningKey
from privacy.models import DataKey

FIELD_FORMAT = b"\x01"
OPENED_KEYS = "cityid.opened_data_keys"
NONCE_BYTES = 12
# The owner of the decoy data key (Vault.open_decoy); no resident has the nil UUID.
DECOY_OWNER = uuid.UUID(int=0)
# As long as a sealed date ("YYYY-MM-DD" and a 16-byte tag), and opens under no key: what a
# decoy check decrypts, failing as a wrong key's would, after the same work.
DECOY_SEALED_DATE = FIELD_FORMAT + bytes(NONCE_BYTES + len("YYYY-MM-DD") + 16)


def _dek_aad(owner_id: uuid.UUID, version: int) -> bytes:
    return b"cityid/dek|" + owner_id.bytes + b"|" + str(version).encode()


def _field_aad(table: str, column: str, row_id: uuid.UUID) -> bytes:
    return f"cityid/field|{table}|{column}|{row_id}".encode()


def wrap_dek(keyring: Keyring, owner_id: uuid.UUID, dek: bytes, version: int) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(keyring.kek(version)).encrypt(nonce, dek, _dek_aad(owner_id, version))


def unwrap_dek(keyring: Keyring, owner_id: uuid.UUID, wrapped: bytes, version: int) -> bytes:
    try:
        return AESGCM(keyring.kek(version)).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _dek_aad(owner_id, version))
    except InvalidTag:
        raise DecryptionFailed("a data key did not unwrap under its KEK") from None


@dataclass(frozen=True)
class RecordCipher:
    """Seals and opens the personal fields of one row under its owner's DEK."""

    _aead: AESGCM
    table: str
    row_id: uuid.UUID

    def seal(self, column: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _field_aad(self.table, column, self.row_id)
        return FIELD_FORMAT + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, column: str, blob: bytes) -> bytes:
        if not blob or blob[:1] != FIELD_FORMAT:
            raise DecryptionFailed(f"{self.table}.{column} is not a sealed value")
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _field_aad(self.table, column, self.row_id))
        except InvalidTag:
            raise DecryptionFailed(f"{self.table}.{column} did not decrypt") from None

    def seal_text(self, column: str, value: str | None) -> bytes | None:
        return None if value is None else self.seal(column, value.encode())

    def open_text(self, column: str, blob: bytes | None) -> str | None:
        return None if blob is None else self.open(column, blob).decode()

    def seal_date(self, column: str, value: date | None) -> bytes | None:
        return None if value is None else self.seal(column, value.isoformat().encode())

    def open_date(self, column: str, blob: bytes | None) -> date | None:
        return None if blob is None else date.fromisoformat(self.open(column, blob).decode())

    def seal_json(self, column: str, value: Any) -> bytes | None:
        if value is None:
            return None
        return self.seal(column, json.dumps(value, sort_keys=True, separators=(",", ":")).encode())

    def open_json(self, column: str, blob: bytes | None) -> Any:
        return None if blob is None else json.loads(self.open(column, blob))


class DataKeyHandle:
    def __init__(self, owner_id: uuid.UUID, dek: bytes) -> None:
        self.owner_id = owner_id
        self._aead = AESGCM(dek)

    def record(self, table: str, row_id: uuid.UUID) -> RecordCipher:
        return RecordCipher(self._aead, table, row_id)


class Vault:
    """The one place that holds keys. Domain services ask it for record ciphers and indexes."""

    def __init__(self, provider: KeyProvider, clock: Clock = system_clock) -> None:
        self._provider = provider
        self._clock = clock
        self._decoys: dict[int, bytes] = {}

    @property
    def keyring(self) -> Keyring:
        return self._provider.load()

    @property
    def provider(self) -> KeyProvider:
        return self._provider

    @staticmethod
    def _opened(session: Session) -> dict[uuid.UUID, DataKeyHandle]:
        # Unwrapped keys live only as long as the session's transaction: one read and one unwrap
        # per resident per request, however many of their fields it touches.
        opened: dict[uuid.UUID, DataKeyHandle] = session.info.setdefault(OPENED_KEYS, {})
        return opened

    def create_data_key(self, session: Session, owner_id: uuid.UUID) -> DataKeyHandle:
        keyring = self.keyring
        dek = secrets.token_bytes(32)
        repository.add_data_key(session, DataKey(
            owner_id=owner_id, kek_version=keyring.active_kek,
            wrapped_dek=wrap_dek(keyring, owner_id, dek, keyring.active_kek),
            created_at=self._clock.now(),
        ))
        handle = DataKeyHandle(owner_id, dek)
        self._opened(session)[owner_id] = handle
        return handle

    def open_data_key(self, session: Session, owner_id: uuid.UUID) -> DataKeyHandle:
        opened = self._opened(session)
        if owner_id in opened:
            return opened[owner_id]
        stored = repository.get_data_key(session, owner_id)
        if stored is None:
            raise DataKeyShredded()
        dek = unwrap_dek(self.keyring, owner_id, stored.wrapped_dek, stored.kek_version)
        opened[owner_id] = handle = DataKeyHandle(owner_id, dek)
        return handle

    def open_decoy(self, session: Session) -> DataKeyHandle:
        """What :meth:`open_data_key` does, for no one: the same read (of an owner that does not
        exist) and an unwrap, of a decoy key made once per KEK version. A public check that finds
        no record does this, so it costs what one that finds a record does and its timing can't
        tell the two apart."""
        repository.get_data_key(session, uuid.uuid4())
        keyring = self.keyring
        version = keyring.active_kek
        wrapped = self._decoys.get(version)
        if wrapped is None:
            wrapped = wrap_dek(keyring, DECOY_OWNER, secrets.token_bytes(32), version)
            self._decoys[version] = wrapped
        return DataKeyHandle(DECOY_OWNER, unwrap_dek(keyring, DECOY_OWNER, wrapped, version))

    def shred(self, session: Session, owner_id: uuid.UUID) -> bool:
        """Destroy the owner's DEK: every ciphertext under it, backups included, is unreadable."""
        self._opened(session).pop(owner_id, None)
        return repository.delete_data_key(session, owner_id)

    def blind_index(self, purpose: str, normalised: str) -> str:
        """HMAC-SHA256 under the index key, separated by purpose so indexes can't be joined."""
        message = purpose.encode() + b"\x00" + normalised.encode()
        return hmac.new(self.keyring.index_key, message, hashlib.sha256).hexdigest()

    def signing_keys(self) -> tuple[SigningKey, ...]:
        return self.keyring.signing_keys

    def active_signing_key(self) -> SigningKey | None:
        keyring = self.keyring
        return next((k for k in keyring.signing_keys if k.kid == keyring.active_signing_kid),
                    None)

    def add_signing_key(self, key: SigningKey, *, save_to: KeyProvider | None = None) -> None:
        """Add a card signing key and make it the one new cards are signed with. Older keys
        stay in the keyring so cards they signed keep verifying."""
        (save_to or self._provider).save(self.keyring.with_signing_key(key))

    def pseudonym(self, kind: str, ident: uuid.UUID | str) -> str:
        """A stable, keyed pseudonym for audit subjects: no one without the key can link it."""
        return f"{kind}:{self.blind_index('pseudonym/' + kind, str(ident))[:24]}"


def rewrap_batch(session: Session, keyring: Keyring, batch: int) -> int:
    """Rewrap up to ``batch`` DEKs to the active KEK; returns how many moved."""
    moved = 0
    for key in repository.data_keys_not_at(session, keyring.active_kek, batch):
        try:
            dek = unwrap_dek(keyring, key.owner_id, key.wrapped_dek, key.kek_version)
        except KeyringError:
            raise KeyringError(
                f"a data key is wrapped under KEK version {key.kek_version}, which this keyring "
                "no longer has") from None
        wrapped = wrap_dek(keyring, key.owner_id, dek, keyring.active_kek)
        if repository.rewrap_data_key(session, key.owner_id, from_version=key.kek_version,
                                      to_version=keyring.active_kek, wrapped=wrapped):
            moved += 1
    return moved


def rotate_kek(provider: KeyProvider, run_batch: Callable[[Keyring], int],
               *, on_progress: Callable[[int], None] | None = None,
               save_to: KeyProvider | None = None) -> Keyring:
    """Add a KEK version, persist the keyring first (so no DEK is ever wrapped under a key that
    is not stored), then rewrap every DEK. ``run_batch`` runs one batch in its own transaction, so
    the service stays online. Loops until no DEK is left under an older version."""
    target = save_to or provider
    keyring = provider.load().with_new_kek()
    target.save(keyring)
    while True:
        moved = run_batch(keyring)
        if on_progress:
            on_progress(moved)
        if moved == 0:
            return keyring
