"""Key material, kept outside the database behind a small key-provider interface.

A keyring holds versioned key-encryption keys (KEKs), the blind-index key, and the card signing
keys. Each KEK version is a key epoch: the keyring records when it began, so the epoch schedule
(see ``privacy.epochs``) can say when it rolls and when its KEK is due to be destroyed. The
embedded default is a 0600 JSON file made on first run; in production the keyring can come from
the environment (``CITYID_KEYRING``), or a PKCS#11 token (``privacy.pkcs11``) that keeps every
KEK, the index key and the signing keys inside it.

Callers never take raw key bytes: they ask the provider to wrap or unwrap a data key, to HMAC
under the index key, or to sign. A file or environment keyring does that in this process with
``cryptography``; a token does it inside the token. A keyring loaded from a token names its keys
but holds no secret: their material is ``None`` ("held by the provider").
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from privacy.errors import KeyringError

KEY_BYTES = 32
FORMAT = 1
NONCE_BYTES = 12
P256_COORDINATE_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unb64_or_none(text: str | None) -> bytes | None:
    return None if text is None else _unb64(text)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("an epoch start has no time zone")
    return moment.astimezone(UTC)


def _check_key(name: str, raw: bytes) -> bytes:
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{name} must be {KEY_BYTES} bytes")
    if len(set(raw)) < 8:
        raise KeyringError(f"{name} is not random enough")
    return raw


@dataclass(frozen=True)
class SigningKey:
    """A card signing key. ``private`` is PKCS#8 DER, or None when the key lives in a token and
    signs there; ``public`` is its SubjectPublicKeyInfo DER (None when it can be derived from
    ``private``); ``alg`` is a COSE algorithm name."""

    kid: str
    alg: str
    private: bytes | None
    created_at: str
    retired: bool = False
    public: bytes | None = None

    def public_key(self) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey:
        try:
            if self.public is not None:
                loaded_public = serialization.load_der_public_key(self.public)
                if isinstance(loaded_public, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
                    return loaded_public
                raise KeyringError(f"signing key {self.kid} has an unsupported public key")
            return load_private_signing_key(self).public_key()
        except ValueError:
            raise KeyringError(f"signing key {self.kid} is malformed") from None


@lru_cache(maxsize=16)
def load_private_signing_key(
        key: SigningKey) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
    """The key's private half, parsed once per key (a card run signs thousands)."""
    if key.private is None:
        raise KeyringError(f"signing key {key.kid} is held by the key provider; it signs there")
    try:
        private = serialization.load_der_private_key(key.private, password=None)
    except (ValueError, TypeError):
        raise KeyringError("the signing key is not PKCS#8 DER") from None
    if key.alg == "EdDSA" and isinstance(private, ed25519.Ed25519PrivateKey):
        return private
    if (key.alg == "ES256" and isinstance(private, ec.EllipticCurvePrivateKey)
            and isinstance(private.curve, ec.SECP256R1)):
        return private
    raise KeyringError(f"the key does not match its algorithm {key.alg!r}")


def sign_with_private_key(key: SigningKey, message: bytes) -> bytes:
    """A COSE signature (RFC 9053): Ed25519's 64 bytes, or ECDSA P-256 over SHA-256 as r || s."""
    private = load_private_signing_key(key)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(message)
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(P256_COORDINATE_BYTES, "big") + s.to_bytes(P256_COORDINATE_BYTES, "big")


@dataclass(frozen=True)
class VerifierKey:
    """An AES-256-GCM key that seals card credentials (Claim 169's COSE_Encrypt0 layer), so only
    the server and the verifiers it is exported to can read a QR. ``kid`` names it in each QR."""

    kid: str
    key: bytes
    created_at: str


@dataclass(frozen=True)
class Keyring:
    """Versioned KEKs, the index key, signing and verifier keys, and their epochs. A secret that
    is ``None`` is held by the key provider (a token) and never leaves it; ``held`` says that
    new KEKs are to be made there too (see ``with_new_kek``)."""

    keks: dict[int, bytes | None]
    active_kek: int
    index_key: bytes | None
    signing_keys: tuple[SigningKey, ...] = field(default=())
    active_signing_kid: str | None = None
    # When each KEK version became the active one. Keyrings made before epochs were recorded
    # lack it; the schedule treats such an epoch as due.
    kek_began: dict[int, datetime] = field(default_factory=dict)
    verifier_keys: tuple[VerifierKey, ...] = field(default=())
    active_verifier_kid: str | None = None
    held: bool = False

    def __post_init__(self) -> None:
        if self.active_kek not in self.keks:
            raise KeyringError("the active KEK version is not in the keyring")
        if not set(self.kek_began) <= set(self.keks):
            raise KeyringError("an epoch start names a KEK version that is not in the keyring")
        present = [kek for kek in self.keks.values() if kek is not None]
        for version, kek in self.keks.items():
            if kek is not None:
                _check_key(f"KEK version {version}", kek)
        if self.index_key is not None:
            _check_key("index key", self.index_key)
            present.append(self.index_key)
        if len(set(present)) != len(present):
            raise KeyringError("keys in a keyring must all differ")
        for verifier in self.verifier_keys:
            _check_key(f"verifier key {verifier.kid}", verifier.key)

    @classmethod
    def generate(cls, now: datetime | None = None, *, held: bool = False) -> Keyring:
        """A first KEK and an index key; ``held``: without material, for a token to make."""
        return cls(keks={1: None if held else secrets.token_bytes(KEY_BYTES)}, active_kek=1,
                   index_key=None if held else secrets.token_bytes(KEY_BYTES),
                   kek_began={1: now or datetime.now(UTC)}, held=held)

    def kek(self, version: int) -> bytes:
        try:
            kek = self.keks[version]
        except KeyError:
            raise KeyringError(f"KEK version {version} is not in the keyring") from None
        if kek is None:
            raise KeyringError(f"KEK version {version} is held by the key provider")
        return kek

    def with_new_kek(self, now: datetime | None = None) -> Keyring:
        """A new epoch: a new KEK version, active from ``now``. In a held keyring the new KEK
        has no material here: the provider makes it inside the token when the keyring is saved."""
        version = max(self.keks) + 1
        material = None if self.held else secrets.token_bytes(KEY_BYTES)
        return replace(self, keks={**self.keks, version: material},
                       active_kek=version,
                       kek_began={**self.kek_began, version: now or datetime.now(UTC)})

    def without_kek(self, version: int) -> Keyring:
        if version == self.active_kek:
            raise KeyringError("the active KEK cannot be removed")
        return replace(self, keks={v: k for v, k in self.keks.items() if v != version},
                       kek_began={v: t for v, t in self.kek_began.items() if v != version})

    def with_signing_key(self, key: SigningKey, *, activate: bool = True) -> Keyring:
        return replace(self, signing_keys=(*self.signing_keys, key),
                       active_signing_kid=key.kid if activate else self.active_signing_kid)

    def with_verifier_key(self, key: VerifierKey) -> Keyring:
        """Seal new cards under ``key``; older verifier keys stay, so the cards they sealed
        can still be opened until they expire."""
        if any(k.kid == key.kid for k in self.verifier_keys):
            raise KeyringError(f"a verifier key {key.kid} is already in the keyring")
        return replace(self, verifier_keys=(*self.verifier_keys, key),
                       active_verifier_kid=key.kid)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": FORMAT,
            "kek": {"active": self.active_kek,
                    "versions": {str(v): _b64(k) if k is not None else None
                                 for v, k in sorted(self.keks.items())},
                    "began": {str(v): t.isoformat() for v, t in sorted(self.kek_began.items())}},
            "index_key": _b64(self.index_key) if self.index_key is not None else None,
            **({"held": True} if self.held else {}),
            "signing": {
                "active": self.active_signing_kid,
                "keys": [
                    {"kid": k.kid, "alg": k.alg,
                     "private": _b64(k.private) if k.private is not None else None,
                     "created_at": k.created_at, "retired": k.retired,
                     **({"public": _b64(k.public)} if k.public is not None else {})}
                    for k in self.signing_keys
                ],
            },
            "verifier": {
                "active": self.active_verifier_kid,
                "keys": [{"kid": k.kid, "key": _b64(k.key), "created_at": k.created_at}
                         for k in self.verifier_keys],
            },
        }
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise KeyringError(f"unsupported keyring format {data.get('format')!r}")
            kek = data["kek"]
            signing = data.get("signing") or {}
            verifier = data.get("verifier") or {}
            return cls(
                keks={int(v): _unb64_or_none(k) for v, k in kek["versions"].items()},
                active_kek=int(kek["active"]),
                index_key=_unb64_or_none(data["index_key"]),
                signing_keys=tuple(
                    SigningKey(kid=k["kid"], alg=k["alg"], private=_unb64_or_none(k["private"]),
                               created_at=k["created_at"], retired=bool(k.get("retired", False)),
                               public=_unb64_or_none(k.get("public")))
                    for k in signing.get("keys", [])
                ),
                active_signing_kid=signing.get("active"),
                kek_began={int(v): _aware(datetime.fromisoformat(t))
                           for v, t in (kek.get("began") or {}).items()},
                verifier_keys=tuple(
                    VerifierKey(kid=k["kid"], key=_unb64(k["key"]), created_at=k["created_at"])
                    for k in verifier.get("keys", [])
                ),
                active_verifier_kid=verifier.get("active"),
                held=bool(data.get("held", False)),
            )
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringError(f"the keyring is malformed ({type(exc).__name__})") from None


class KeyProvider(Protocol):
    """Where the keys live and where they are used. Implementations: a file, the environment
    (both use the keys in this process), a PKCS#11 token (uses them inside the token).

    ``load`` gives the keyring's description (versions, epochs, kids; secrets only where the
    provider is a file or the environment); ``save`` persists a changed description, making in
    the token any key it names that has no material yet. The operations take key names, never
    key bytes."""

    def load(self) -> Keyring: ...

    def save(self, keyring: Keyring) -> None: ...

    @property
    def writable(self) -> bool: ...

    @property
    def holds_keys(self) -> bool:
        """True when keys are made and used inside the provider and never leave it."""
        ...

    def wrap(self, version: int, plaintext: bytes, aad: bytes) -> bytes:
        """``plaintext`` (a data key) under KEK ``version``: nonce || AES-256-GCM ciphertext."""
        ...

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes: ...

    def index_mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the blind-index key."""
        ...

    def sign(self, key: SigningKey, message: bytes) -> bytes:
        """A COSE signature of ``message`` by ``key`` (Ed25519, or ES256 as r || s)."""
        ...
