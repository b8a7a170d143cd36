"""The key providers whose secrets this process holds: a 0600 JSON file (the embedded default),
the environment (``CITYID_KEYRING``), and a keyring already in memory (seeding's workers). Each
does the key operations of ``privacy.keyring.KeyProvider`` with ``cryptography``; a PKCS#11
token does them inside the token (``privacy.pkcs11``)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.errors import DecryptionFailed, KeyringError
from privacy.keyring import (
    NONCE_BYTES,
    Keyring,
    SigningKey,
    _unb64,
    sign_with_private_key,
)


class RawKeyOperations:
    """The key operations over a keyring whose secrets this process holds (a file or the
    environment): AES-256-GCM, HMAC-SHA256 and signing with ``cryptography``."""

    def load(self) -> Keyring:
        raise NotImplementedError

    @property
    def holds_keys(self) -> bool:
        return False

    def wrap(self, version: int, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self.load().kek(version)).encrypt(nonce, plaintext, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self.load().kek(version)).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionFailed("a data key did not unwrap under its KEK") from None

    def index_mac(self, message: bytes) -> bytes:
        index_key = self.load().index_key
        if index_key is None:
            raise KeyringError("the index key is held by another key provider")
        return hmac.new(index_key, message, hashlib.sha256).digest()

    def sign(self, key: SigningKey, message: bytes) -> bytes:
        return sign_with_private_key(key, message)


class FileKeyProvider(RawKeyOperations):
    """A 0600 JSON file, created on first use. Reloaded when it changes on disk, so a running
    service picks up a rotated keyring without a restart."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self._create = create
        self._lock = threading.Lock()
        self._cached: tuple[float, Keyring] | None = None

    @property
    def writable(self) -> bool:
        return True

    def load(self) -> Keyring:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                if not self._create:
                    raise KeyringError(f"no keyring at {self.path}") from None
                self._write(Keyring.generate(), exclusive=True)
                mtime = self.path.stat().st_mtime_ns
            if self._cached and self._cached[0] == mtime:
                return self._cached[1]
            mode = self.path.stat().st_mode & 0o777
            if mode & 0o077:
                raise KeyringError(f"keyring file {self.path} must not be readable by others "
                                   f"(mode {mode:o}; run chmod 600)")
            keyring = Keyring.from_json(self.path.read_text())
            self._cached = (mtime, keyring)
            return keyring

    def save(self, keyring: Keyring) -> None:
        with self._lock:
            self._write(keyring, exclusive=False)
            self._cached = None

    def _write(self, keyring: Keyring, *, exclusive: bool) -> None:
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if exclusive:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return  # another process made it first; use theirs
            with os.fdopen(fd, "w") as handle:
                handle.write(keyring.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_directory(self.path.parent)
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(keyring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        _fsync_directory(self.path.parent)


def _fsync_directory(path: Path) -> None:
    # The rename must reach the disk before any data key is wrapped under the new KEK, or a crash
    # could leave the database needing a key that the file on disk does not have.
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class EnvKeyProvider(RawKeyOperations):
    """The keyring JSON (or its base64) from an environment variable; read-only at run time."""

    def __init__(self, value: str) -> None:
        self._value = value
        self._keyring: Keyring | None = None

    @property
    def writable(self) -> bool:
        return False

    def load(self) -> Keyring:
        if self._keyring is None:
            text = self._value.strip()
            if not text.startswith("{"):
                try:
                    text = _unb64(text).decode()
                except ValueError:
                    raise KeyringError("CITYID_KEYRING is neither JSON nor base64 JSON") from None
            self._keyring = Keyring.from_json(text)
        return self._keyring

    def save(self, keyring: Keyring) -> None:
        raise KeyringError("the keyring comes from the environment and cannot be written; "
                           "use --out FILE and load the new keyring into your secret store")


class LoadedKeyring(RawKeyOperations):
    """A read-only key provider over a keyring already in memory: what a seeding worker
    process gets from its parent, and what a check of a keyring file not yet installed uses."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def writable(self) -> bool:
        return False

    def load(self) -> Keyring:
        return self._keyring

    def save(self, keyring: Keyring) -> None:
        raise KeyringError("this keyring is only held in memory and is not written")
