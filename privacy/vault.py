"""Envelope encryption of personal fields.

Each resident has a random 256-bit data key (DEK). Personal fields are AES-256-GCM ciphertext under
that DEK, with associated data naming table, column and row, so a ciphertext cannot be moved to
another row or column. DEKs are stored wrapped by a versioned key-encryption key (KEK) that never
enters the database. Deleting a DEK shreds every copy of the resident's ciphertext.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.db import Base
from privacy import repository
from privacy.errors import DataKeyShredded, DecryptionFailed, KeyringError
from privacy.keyring import KeyProvider, Keyring, SigningKey, VerifierKey
from privacy.models import DataKey
from privacy.sealed import Encoding, sealed_fields_of

FIELD_FORMAT = b"\x01"
OPENED_KEYS = "cityid.opened_data_keys"
NONCE_BYTES = 12
# The owner of the decoy envelope: no resident, card or application ever has the nil UUID.
DECOY_OWNER = uuid.UUID(int=0)
# As long as a sealed date ("YYYY-MM-DD" and a 16-byte tag), and opens under no key: what a
# decoy check decrypts, failing as a wrong key's would, after the same work.
DECOY_SEALED_DATE = FIELD_FORMAT + bytes(NONCE_BYTES + len("YYYY-MM-DD") + 16)


def _dek_aad(owner_id: uuid.UUID, version: int) -> bytes:
    return b"cityid/dek|" + owner_id.bytes + b"|" + str(version).encode()


def _field_aad(table: str, column: str, row_id: uuid.UUID) -> bytes:
    return f"cityid/field|{table}|{column}|{row_id}".encode()


def wrap_dek(provider: KeyProvider, owner_id: uuid.UUID, dek: bytes, version: int) -> bytes:
    """The data key wrapped by KEK ``version``, wherever that KEK lives (the provider wraps)."""
    return provider.wrap(version, dek, _dek_aad(owner_id, version))


def unwrap_dek(provider: KeyProvider, owner_id: uuid.UUID, wrapped: bytes, version: int) -> bytes:
    return provider.unwrap(version, wrapped, _dek_aad(owner_id, version))


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

    def seal_as(self, encoding: Encoding, column: str, value: Any) -> bytes | None:
        """``value`` sealed under its declared encoding (privacy.sealed); None stays None."""
        match encoding:
            case "text":
                return self.seal_text(column, value)
            case "date":
                return self.seal_date(column, value)
            case "json":
                return self.seal_json(column, value)
        return None if value is None else self.seal(column, value)

    def open_as(self, encoding: Encoding, column: str, blob: bytes | None) -> Any:
        match encoding:
            case "text":
                return self.open_text(column, blob)
            case "date":
                return self.open_date(column, blob)
            case "json":
                return self.open_json(column, blob)
        return None if blob is None else self.open(column, blob)


class DataKeyHandle:
    def __init__(self, owner_id: uuid.UUID, dek: bytes) -> None:
        self.owner_id = owner_id
        self._aead = AESGCM(dek)

    def record(self, table: str, row_id: uuid.UUID) -> RecordCipher:
        return RecordCipher(self._aead, table, row_id)

    def sealed_columns(self, model: type[Base], row_id: uuid.UUID,
                       values: Mapping[str, Any]) -> dict[str, bytes | None]:
        """``{"<field>_enc": ciphertext}`` for the given fields of a ``model`` row, each
        sealed as the model declares it; for writers that build rows without the ORM."""
        declared = sealed_fields_of(model)
        cipher = self.record(model.__tablename__, row_id)
        return {f"{field}_enc": cipher.seal_as(declared.encoding(model, field), field, value)
                for field, value in values.items()}

    def seal_fields(self, row: Base, values: Mapping[str, Any]) -> None:
        """Seals ``values`` (field name to plain value) into the row's ``_enc`` columns."""
        declared = sealed_fields_of(type(row))
        sealed = self.sealed_columns(type(row), getattr(row, declared.row), values)
        for column, blob in sealed.items():
            setattr(row, column, blob)

    def open_fields(self, row: Base, *fields: str) -> dict[str, Any]:
        """The named sealed fields of ``row`` (all it declares when none are named), opened
        into plain values: str, date, the JSON value, or bytes, as declared."""
        model = type(row)
        declared = sealed_fields_of(model)
        cipher = self.record(model.__tablename__, getattr(row, declared.row))
        return {field: cipher.open_as(declared.encoding(model, field), field,
                                      getattr(row, f"{field}_enc"))
                for field in fields or tuple(declared.fields)}


@dataclass(frozen=True)
class _Decoy:
    """A data key wrapped under the active KEK and one field sealed under it, made in memory,
    never stored: opening it costs what opening a real field costs."""

    kek_version: int
    wrapped_dek: bytes
    dek: bytes  # a decoy's own key, guarding nothing; kept to seal more decoy fields
    sealed: dict[tuple[str, str], bytes]


class Vault:
    """The one place that holds keys. Domain services ask it for record ciphers and indexes."""

    def __init__(self, provider: KeyProvider, clock: Clock = system_clock) -> None:
        self._provider = provider
        self._clock = clock
        self._decoys: dict[int, _Decoy] = {}
        self._decoy_keys: dict[int, bytes] = {}

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
            wrapped_dek=wrap_dek(self._provider, owner_id, dek, keyring.active_kek),
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
        dek = unwrap_dek(self._provider, owner_id, stored.wrapped_dek, stored.kek_version)
        opened[owner_id] = handle = DataKeyHandle(owner_id, dek)
        return handle

    def _decoy(self, keyring: Keyring, table: str, column: str, length: int) -> _Decoy:
        ident = keyring.active_kek  # a rotation makes a new decoy under the new KEK
        decoy = self._decoys.get(ident)
        if decoy is None:
            self._decoys.clear()
            dek = secrets.token_bytes(32)
            decoy = _Decoy(keyring.active_kek,
                           wrap_dek(self._provider, DECOY_OWNER, dek, keyring.active_kek),
                           dek, {})
            self._decoys[ident] = decoy
        if (table, column) not in decoy.sealed:
            decoy.sealed[(table, column)] = DataKeyHandle(DECOY_OWNER, decoy.dek).record(
                table, DECOY_OWNER).seal(column, b"0" * length)
        return decoy

    def open_field_or_decoy(self, session: Session, owner_id: uuid.UUID, table: str,
                            column: str, blob: bytes | None, *, length: int) -> bytes | None:
        """Open one sealed field of the owner's row (whose id is ``owner_id``), or, when there
        is no such owner, key or field, do the same work on a decoy and return None: one key
        read, one unwrap, one decryption either way, so the answer's time does not say whether
        the owner exists. ``length`` is the plaintext length the decoy takes. The session's
        cache of opened keys is bypassed on purpose: it would make the two paths differ."""
        stored = repository.wrapped_data_key(session, owner_id)
        keyring = self.keyring
        if stored is None or blob is None:
            decoy = self._decoy(keyring, table, column, length)
            owner, wrapped, version = DECOY_OWNER, decoy.wrapped_dek, decoy.kek_version
            sealed, real = decoy.sealed[(table, column)], False
        else:
            owner, (wrapped, version) = owner_id, stored
            sealed, real = blob, True
        plain = DataKeyHandle(owner, unwrap_dek(self._provider, owner, wrapped, version)).record(
            table, owner).open(column, sealed)
        return plain if real else None

    def open_decoy(self, session: Session) -> DataKeyHandle:
        """What :meth:`open_data_key` does, for no one: the same read (of an owner that does not
        exist) and an unwrap, of a decoy key made once per KEK version. A public check that finds
        no record does this, so it costs what one that finds a record does and its timing can't
        tell the two apart."""
        repository.get_data_key(session, uuid.uuid4())
        keyring = self.keyring
        version = keyring.active_kek
        wrapped = self._decoy_keys.get(version)
        if wrapped is None:
            wrapped = wrap_dek(self._provider, DECOY_OWNER, secrets.token_bytes(32), version)
            self._decoy_keys[version] = wrapped
        return DataKeyHandle(DECOY_OWNER,
                             unwrap_dek(self._provider, DECOY_OWNER, wrapped, version))

    def _owner_key(self, session: Session, row: Base) -> DataKeyHandle:
        return self.open_data_key(session, getattr(row, sealed_fields_of(type(row)).owner))

    def seal_fields(self, session: Session, row: Base, values: Mapping[str, Any]) -> None:
        """Seals ``values`` into ``row`` under its owner's data key, as its model declares."""
        self._owner_key(session, row).seal_fields(row, values)

    def open_fields(self, session: Session, row: Base, *fields: str) -> dict[str, Any]:
        """The row's sealed fields (or the named ones), opened under its owner's data key."""
        return self._owner_key(session, row).open_fields(row, *fields)

    def shred(self, session: Session, owner_id: uuid.UUID) -> bool:
        """Destroy the owner's DEK: their ciphertext in the live database is unreadable at once.
        Backups taken before still hold the DEK, wrapped under the KEK of its epoch; they can't
        open it once that KEK is destroyed, when the epoch has rolled (``privacy.epochs``)."""
        self._opened(session).pop(owner_id, None)
        return repository.delete_data_key(session, owner_id)

    def blind_index(self, purpose: str, normalised: str) -> str:
        """HMAC-SHA256 under the index key, separated by purpose so indexes can't be joined."""
        message = purpose.encode() + b"\x00" + normalised.encode()
        return self._provider.index_mac(message).hex()

    def index_mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 under the index key, done by the provider (inside a token if there is
        one), for keys derived from it such as the audit entry MAC key."""
        return self._provider.index_mac(message)

    def sign(self, key: SigningKey, message: bytes) -> bytes:
        """``message`` signed by ``key``, by the provider that holds it."""
        return self._provider.sign(key, message)

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A value a caller chose (an idempotency key, a police incident reference), kept so it
        can be matched and never read: HMAC-SHA256 under the index key, like a blind index,
        with its own purpose so it joins with nothing else. The drill reads it as a keyed
        hash, not as words."""
        return self.blind_index("keyed/" + purpose, value)

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

    def verifier_keys(self) -> tuple[VerifierKey, ...]:
        return self.keyring.verifier_keys

    def active_verifier_key(self) -> VerifierKey | None:
        keyring = self.keyring
        return next((k for k in keyring.verifier_keys if k.kid == keyring.active_verifier_kid),
                    None)

    def add_verifier_key(self, key: VerifierKey, *, save_to: KeyProvider | None = None) -> None:
        """Add a QR verifier key and seal new cards under it. Older keys stay in the keyring so
        the cards they sealed keep opening."""
        (save_to or self._provider).save(self.keyring.with_verifier_key(key))

    def pseudonym(self, kind: str, ident: uuid.UUID | str) -> str:
        """A stable, keyed pseudonym for audit subjects: no one without the key can link it."""
        return f"{kind}:{self.blind_index('pseudonym/' + kind, str(ident))[:24]}"


def rewrap_batch(session: Session, provider: KeyProvider, keyring: Keyring, batch: int) -> int:
    """Rewrap up to ``batch`` DEKs still under older KEKs to the active one. Returns how many it
    found there (moved here, or moved or shredded meanwhile by someone else); 0 once none is
    left, so the caller loops until the roll is done."""
    found = repository.data_keys_not_at(session, keyring.active_kek, batch)
    for key in found:
        try:
            dek = unwrap_dek(provider, key.owner_id, key.wrapped_dek, key.kek_version)
        except KeyringError:
            raise KeyringError(
                f"a data key is wrapped under KEK version {key.kek_version}, which this keyring "
                "no longer has") from None
        wrapped = wrap_dek(provider, key.owner_id, dek, keyring.active_kek)
        repository.rewrap_data_key(session, key.owner_id, from_version=key.kek_version,
                                   to_version=keyring.active_kek, wrapped=wrapped)
    return len(found)


def start_epoch(provider: KeyProvider, *, now: datetime,
                save_to: KeyProvider | None = None) -> Keyring:
    """Add a KEK version, active from ``now``, and persist the keyring before any DEK is
    wrapped under it, so the database never needs a key that is not stored."""
    keyring = provider.load().with_new_kek(now)
    (save_to or provider).save(keyring)
    return keyring


def rewrap_all(keyring: Keyring, run_batch: Callable[[Keyring], int],
               *, on_progress: Callable[[int], None] | None = None) -> int:
    """Move every DEK to the active KEK. ``run_batch`` runs one batch in its own transaction, so
    the service stays online and an interrupted roll keeps what it did: run it again and it
    picks up what is left (each rewrap is a compare-and-set, so nothing is done twice)."""
    total = 0
    while found := run_batch(keyring):
        total += found
        if on_progress:
            on_progress(found)
    return total


def rotate_kek(provider: KeyProvider, run_batch: Callable[[Keyring], int],
               *, now: datetime, on_progress: Callable[[int], None] | None = None,
               save_to: KeyProvider | None = None) -> Keyring:
    """Start a new epoch and rewrap every DEK under its KEK."""
    keyring = start_epoch(provider, now=now, save_to=save_to)
    rewrap_all(keyring, run_batch, on_progress=on_progress)
    return keyring
