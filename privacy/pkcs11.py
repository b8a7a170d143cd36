"""The keys in a hardware token, over PKCS#11 (``python-pkcs11``); tested against SoftHSM2.

Every KEK, the blind-index key and every card signing key is a token object made sensitive and
non-extractable, so its value can't be read and the token refuses to wrap it out. The token does
the work: KEKs encrypt and decrypt data keys with CKM_AES_GCM (the same nonce || ciphertext
layout, under the same associated data, as the file keyring, so a data key wrapped under a KEK
imported from a file unwraps in the token), the index key HMACs with CKM_SHA256_HMAC, and the
signing keys sign with CKM_EDDSA (Ed25519) or CKM_ECDSA over a SHA-256 digest (ES256).

What the token holds besides keys is one private data object, ``cityid/keyring/<n>``: the keyring's
description (KEK versions and epochs, kids, public keys, which key is active) and the QR verifier
keys. Verifier keys are handed to offline verifiers by design (an audited export), so they are
not key material that must stay in the token; the data object is readable only after login.

A keyring from a file can be imported (``cityid keys init --provider pkcs11 --from-file``): its
keys become sensitive, non-extractable token objects, so data keys, blind indexes and cards made
under them stay valid; a rotation then makes the next KEK and signing key inside the token.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    GeneralError,
    NoSuchToken,
    ObjectHandleInvalid,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    UserAlreadyLoggedIn,
)
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_named_curve_parameters

from privacy.errors import DecryptionFailed, KeyringError
from privacy.keyring import (
    KEY_BYTES,
    NONCE_BYTES,
    Keyring,
    SigningKey,
    load_private_signing_key,
)

DEFAULT_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
APPLICATION = "cityid"
METADATA_LABEL = "cityid/keyring"
INDEX_LABEL = "cityid/index"
GCM_TAG_BITS = 128
ED25519_OID = "1.3.101.112"
P256_OID = "1.2.840.10045.3.1.7"

# The attributes that keep a key in the token: its value can't be read (sensitive) and the
# token won't wrap it out under another key (not extractable). Both are one-way in PKCS#11.
_KEPT_IN = {Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False}

T = TypeVar("T")


def kek_label(version: int) -> str:
    return f"cityid/kek/{version}"


def signing_label(kid: str) -> str:
    return f"cityid/sign/{kid}"


class _Library:
    """One loaded PKCS#11 module per path per process (C_Initialize runs once). ``generation``
    counts re-initialisations: a token made after the module was loaded (as the tests make
    them) is found only after one, and every session opened before it is then gone."""

    _loaded: dict[str, _Library] = {}
    _guard = threading.Lock()

    def __init__(self, module: Path) -> None:
        try:
            self.lib = pkcs11.lib(str(module))
        except (RuntimeError, OSError) as exc:
            raise KeyringError(f"cannot load the PKCS#11 module {module}: {exc}") from None
        self.generation = 0

    @classmethod
    def get(cls, module: Path) -> _Library:
        with cls._guard:
            if str(module) not in cls._loaded:
                if not module.exists():
                    raise KeyringError(f"no PKCS#11 module at {module} (for SoftHSM2 on Debian: "
                                       "apt-get install softhsm2)")
                cls._loaded[str(module)] = cls(module)
            return cls._loaded[str(module)]

    def token(self, label: str | None, slot: int | None) -> pkcs11.Token:
        for attempt in range(2):
            try:
                if slot is not None:
                    slots = [s for s in self.lib.get_slots(token_present=True) if s.slot_id == slot]
                    if slots:
                        return slots[0].get_token()
                    raise NoSuchToken()
                return self.lib.get_token(token_label=label)
            except NoSuchToken:
                if attempt:
                    break
                with self._guard:
                    self.lib.reinitialize()
                    self.generation += 1
        where = f"slot {slot}" if slot is not None else f"label {label!r}"
        raise KeyringError(f"no PKCS#11 token with {where}; make one with "
                           "`softhsm2-util --init-token` (SoftHSM2) or your HSM's tools")


class Pkcs11KeyProvider:
    """A key provider whose keys never leave a PKCS#11 token. One logged-in session per
    provider, used under a lock: a PKCS#11 operation is several calls on one session."""

    def __init__(self, *, module: Path = DEFAULT_MODULE,
                 token_label: str | None = "cityid",  # noqa: S107 - a name, not a secret
                 slot: int | None = None, pin: str) -> None:
        if not pin:
            raise KeyringError("the PKCS#11 user PIN is empty")
        self._module, self._label, self._slot, self._pin = module, token_label, slot, pin
        self._lock = threading.RLock()
        self._session: pkcs11.Session | None = None
        self._generation = -1
        self._pid = 0
        self._objects: dict[tuple[ObjectClass, str], Any] = {}

    @property
    def writable(self) -> bool:
        return True

    @property
    def holds_keys(self) -> bool:
        return True

    # --- the session ------------------------------------------------------------------------

    def _open(self) -> pkcs11.Session:
        library = _Library.get(self._module)
        stale = (self._session is None or self._generation != library.generation
                 or self._pid != os.getpid())
        if stale:
            token = library.token(self._label, self._slot)
            try:
                try:
                    self._session = token.open(rw=True, user_pin=self._pin)
                except UserAlreadyLoggedIn:
                    # Login is per process in PKCS#11: another provider of this process (the
                    # service's, beside a command's) has signed in, and this session shares it.
                    self._session = token.open(rw=True)
            except PKCS11Error as exc:
                raise KeyringError(f"cannot sign in to the PKCS#11 token "
                                   f"({type(exc).__name__})") from None
            self._generation, self._pid = library.generation, os.getpid()
            self._objects.clear()
        assert self._session is not None
        return self._session

    def _run(self, work: Callable[[pkcs11.Session], T]) -> T:
        """``work`` on the session, once more on a fresh session if the old one is gone."""
        with self._lock:
            for attempt in range(2):
                session = self._open()
                try:
                    return work(session)
                except (SessionHandleInvalid, SessionClosed, ObjectHandleInvalid):
                    if attempt:
                        raise
                    self._session = None
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                with contextlib.suppress(PKCS11Error):
                    self._session.close()
            self._session = None
            self._objects.clear()

    def _find(self, session: pkcs11.Session, cls: ObjectClass, label: str) -> Any | None:
        cached = self._objects.get((cls, label))
        if cached is not None:
            return cached
        found = list(session.get_objects({Attribute.CLASS: cls, Attribute.LABEL: label}))
        if len(found) > 1:
            raise KeyringError(f"the token holds {len(found)} objects labelled {label}")
        if not found:
            return None
        self._objects[(cls, label)] = found[0]
        return found[0]

    def _key(self, session: pkcs11.Session, cls: ObjectClass, label: str, what: str) -> Any:
        key = self._find(session, cls, label)
        if key is None:
            raise KeyringError(f"{what} is not in the PKCS#11 token")
        return key

    # --- the keyring's description ------------------------------------------------------------

    def load(self) -> Keyring:
        # Read on every call, like the file provider's mtime check: a rotation by another
        # process (the CLI) is seen at once, so no data key is wrapped under a KEK after it.
        def read(session: pkcs11.Session) -> Keyring:
            found = _descriptions(session)
            if not found:
                raise KeyringError("the PKCS#11 token holds no cityid keyring; run "
                                   "`cityid keys init --provider pkcs11`")
            return Keyring.from_json(bytes(found[-1][1][Attribute.VALUE]).decode())
        return self._run(read)

    @property
    def initialised(self) -> bool:
        return self._run(lambda session: bool(_descriptions(session)))

    def save(self, keyring: Keyring) -> None:
        """Make in the token every key ``keyring`` names that it lacks (importing the material
        the keyring carries, else generating it inside), destroy the KEKs it no longer names,
        then store the description, which carries no KEK, index or signing key material."""
        self._run(lambda session: self._save(session, keyring))

    def _save(self, session: pkcs11.Session, keyring: Keyring) -> None:
        for version, material in keyring.keks.items():
            if self._find(session, ObjectClass.SECRET_KEY, kek_label(version)) is None:
                self._make_secret(session, kek_label(version), KeyType.AES, material,
                                  {Attribute.ENCRYPT: True, Attribute.DECRYPT: True})
        for kek in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
            label = str(kek[Attribute.LABEL])
            if label.startswith("cityid/kek/") and int(label.rsplit("/", 1)[1]) not in keyring.keks:
                kek.destroy()
                self._objects.pop((ObjectClass.SECRET_KEY, label), None)
        if self._find(session, ObjectClass.SECRET_KEY, INDEX_LABEL) is None:
            self._make_secret(session, INDEX_LABEL, KeyType.GENERIC_SECRET, keyring.index_key,
                              {Attribute.SIGN: True, Attribute.VERIFY: True})
        described: list[SigningKey] = []
        for key in keyring.signing_keys:
            public = key.public
            if self._find(session, ObjectClass.PRIVATE_KEY, signing_label(key.kid)) is None:
                public = self._make_signing_key(session, key)
            elif public is None:
                public = key.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            described.append(replace(key, private=None, public=public))
        description = replace(keyring, keks=dict.fromkeys(keyring.keks), index_key=None,
                              signing_keys=tuple(described), held=True)
        # A data object's value can't be changed in place (SoftHSM keeps it read-only), so each
        # save stores the next numbered description, then removes the older ones: a reader in
        # another process that sees both takes the highest number.
        older = _descriptions(session)
        number = older[-1][0] + 1 if older else 1
        session.create_object({Attribute.CLASS: ObjectClass.DATA, Attribute.TOKEN: True,
                               Attribute.PRIVATE: True, Attribute.APPLICATION: APPLICATION,
                               Attribute.LABEL: f"{METADATA_LABEL}/{number}",
                               Attribute.VALUE: description.to_json().encode()})
        for _, data in older:
            data.destroy()

    def _make_secret(self, session: pkcs11.Session, label: str, key_type: KeyType,
                     material: bytes | None, uses: dict[Attribute, Any]) -> None:
        if material is None:
            session.generate_key(key_type, KEY_BYTES * 8, label=label, store=True,
                                 template={**_KEPT_IN, **uses})
            return
        session.create_object({Attribute.CLASS: ObjectClass.SECRET_KEY,
                               Attribute.KEY_TYPE: key_type, Attribute.LABEL: label,
                               Attribute.VALUE: material, **_KEPT_IN, **uses})

    def _make_signing_key(self, session: pkcs11.Session, key: SigningKey) -> bytes:
        """The key's SubjectPublicKeyInfo DER, after generating it in the token (no material)
        or importing the PKCS#8 it carries."""
        label = signing_label(key.kid)
        if key.alg == "EdDSA":
            key_type, params = KeyType.EC_EDWARDS, encode_named_curve_parameters(ED25519_OID)
        elif key.alg == "ES256":
            key_type, params = KeyType.EC, encode_named_curve_parameters(P256_OID)
        else:
            raise KeyringError(f"unsupported signing algorithm {key.alg!r}")
        ident = key.kid.encode()
        if key.private is None:
            public_key, _ = session.generate_keypair(
                key_type, store=True, label=label, id=ident,
                public_template={Attribute.EC_PARAMS: params, Attribute.VERIFY: True,
                                 Attribute.TOKEN: True},
                private_template={**_KEPT_IN, Attribute.SIGN: True})
            return _public_info(key.alg, bytes(public_key[Attribute.EC_POINT]))
        private = load_private_signing_key(key)
        if isinstance(private, ed25519.Ed25519PrivateKey):
            value = private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())
        else:
            value = private.private_numbers().private_value.to_bytes(32, "big")
        session.create_object({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                               Attribute.KEY_TYPE: key_type, Attribute.EC_PARAMS: params,
                               Attribute.VALUE: value, Attribute.LABEL: label,
                               Attribute.ID: ident, Attribute.SIGN: True, **_KEPT_IN})
        return private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    # --- the operations -------------------------------------------------------------------------

    def wrap(self, version: int, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)

        def encrypt(session: pkcs11.Session) -> bytes:
            kek = self._key(session, ObjectClass.SECRET_KEY, kek_label(version),
                            f"KEK version {version}")
            sealed = kek.encrypt(plaintext, mechanism=Mechanism.AES_GCM,
                                 mechanism_param=GCMParams(nonce, aad, GCM_TAG_BITS))
            return bytes(sealed)
        return nonce + self._run(encrypt)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]

        def decrypt(session: pkcs11.Session) -> bytes:
            kek = self._key(session, ObjectClass.SECRET_KEY, kek_label(version),
                            f"KEK version {version}")
            try:
                return bytes(kek.decrypt(body, mechanism=Mechanism.AES_GCM,
                                         mechanism_param=GCMParams(nonce, aad, GCM_TAG_BITS)))
            # A tag that does not match: CKR_ENCRYPTED_DATA_INVALID by the standard, and
            # CKR_GENERAL_ERROR from SoftHSM 2.6, which passes OpenSSL's refusal on as is.
            except (EncryptedDataInvalid, EncryptedDataLenRange, GeneralError):
                raise DecryptionFailed("a data key did not unwrap under its KEK") from None
        return self._run(decrypt)

    def index_mac(self, message: bytes) -> bytes:
        def mac(session: pkcs11.Session) -> bytes:
            key = self._key(session, ObjectClass.SECRET_KEY, INDEX_LABEL, "the index key")
            return bytes(key.sign(message, mechanism=Mechanism.SHA256_HMAC))
        return self._run(mac)

    def sign(self, key: SigningKey, message: bytes) -> bytes:
        if key.alg == "EdDSA":
            mechanism, data = Mechanism.EDDSA, message
        elif key.alg == "ES256":
            # SoftHSM 2.6 has CKM_ECDSA but not CKM_ECDSA_SHA256: the digest is made here (it
            # is no secret) and the token signs it.
            mechanism, data = Mechanism.ECDSA, hashlib.sha256(message).digest()
        else:
            raise KeyringError(f"unsupported signing algorithm {key.alg!r}")

        def sign(session: pkcs11.Session) -> bytes:
            private = self._key(session, ObjectClass.PRIVATE_KEY, signing_label(key.kid),
                                f"signing key {key.kid}")
            # PKCS#11 gives ECDSA as r || s, which is COSE's form too (RFC 9053 section 2.1).
            return bytes(private.sign(data, mechanism=mechanism))
        return self._run(sign)

    def key_objects(self) -> list[dict[str, Any]]:
        """What the token says about each cityid key object (for the tests and `keys status`):
        label, class, and whether it is sensitive, extractable and was ever extractable."""
        def read(session: pkcs11.Session) -> list[dict[str, Any]]:
            found = []
            for cls in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
                for obj in session.get_objects({Attribute.CLASS: cls}):
                    if not str(obj[Attribute.LABEL]).startswith("cityid/"):
                        continue
                    found.append({"label": str(obj[Attribute.LABEL]), "class": cls.name,
                                  "sensitive": bool(obj[Attribute.SENSITIVE]),
                                  "extractable": bool(obj[Attribute.EXTRACTABLE]),
                                  "never_extractable": bool(obj[Attribute.NEVER_EXTRACTABLE])})
            return found
        return self._run(read)


def _descriptions(session: pkcs11.Session) -> list[tuple[int, Any]]:
    """The keyring descriptions in the token, oldest first (normally one)."""
    found = []
    for data in session.get_objects({Attribute.CLASS: ObjectClass.DATA,
                                     Attribute.APPLICATION: APPLICATION}):
        label = str(data[Attribute.LABEL])
        if label.startswith(METADATA_LABEL + "/"):
            found.append((int(label.rsplit("/", 1)[1]), data))
    return sorted(found, key=lambda pair: pair[0])


def _public_info(alg: str, ec_point: bytes) -> bytes:
    """SubjectPublicKeyInfo DER from a token's CKA_EC_POINT (a DER OCTET STRING, or, from some
    tokens, the bare point)."""
    point = ec_point
    if len(point) >= 2 and point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]
    public: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
    if alg == "EdDSA":
        public = ed25519.Ed25519PublicKey.from_public_bytes(point)
    else:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    return public.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def read_pin(pin: str, pin_file: Path | None) -> str:
    """The user PIN: from a file (one line, e.g. a mounted secret) when one is named."""
    if pin_file is not None:
        try:
            return pin_file.read_text().strip()
        except OSError as exc:
            raise KeyringError(f"cannot read the PKCS#11 PIN file {pin_file}: "
                               f"{exc.strerror or exc}") from None
    return pin


__all__ = ["DEFAULT_MODULE", "Pkcs11KeyProvider", "read_pin"]
