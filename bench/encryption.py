"""The key operations through privacy/ with the file keyring and with a PKCS#11 token (SoftHSM2),
against the raw ``cryptography`` operation on the same bytes, in the same run: a resident
record sealed and opened (unwrap the DEK, seal every field, open every field), a data key wrapped
and unwrapped, a card signature (Ed25519), a blind index. Prints operations per second (median of
several runs) and the ratios.

The token is a SoftHSM2 token made for the run in a temporary folder (``softhsm2-util``), holding
the file keyring's keys imported (so both providers hold the same keys); set CITYID_PKCS11_MODULE
to measure another module's token the same way. BENCH_OPS, BENCH_RECORDS and BENCH_RUNS scale it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idcard.cose import generate_signing_key
from privacy.key_providers import LoadedKeyring
from privacy.keyring import KeyProvider, SigningKey
from privacy.pkcs11 import DEFAULT_MODULE, Pkcs11KeyProvider
from privacy.vault import DataKeyHandle, Vault, unwrap_dek, wrap_dek

FIELDS = {
    "first_name": b"Zephyrine",
    "middle_name": b"Ottoline",
    "last_name": b"Quillfeather-Abernathy",
    "date_of_birth": b"1987-03-14",
    "address": json.dumps({"line1": "742 Evergreen Terrace", "line2": "Apt 5B",
                           "city": "Springfield", "state": "NY", "postal_code": "11201"}).encode(),
}
RECORDS = int(os.environ.get("BENCH_RECORDS", "5000"))
OPS = int(os.environ.get("BENCH_OPS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MESSAGE = secrets.token_bytes(200)  # about a card credential's Sig_structure
AAD = b"cityid/dek|" + uuid.UUID(int=1).bytes + b"|1"

Rate = Callable[[], float]


def _rate(count: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - started)


# --- through privacy/ -----------------------------------------------------------------------


def seal_open(provider: KeyProvider) -> float:
    """Per record: unwrap the resident's DEK, seal every field, then open every field."""
    owner, version = uuid.uuid4(), provider.load().active_kek
    wrapped = wrap_dek(provider, owner, secrets.token_bytes(32), version)

    def one() -> None:
        record = DataKeyHandle(owner, unwrap_dek(provider, owner, wrapped, version)
                               ).record("residents", owner)
        sealed = {c: record.seal(c, v) for c, v in FIELDS.items()}
        for column, blob in sealed.items():
            record.open(column, blob)
    return _rate(RECORDS, one)


def wrap_unwrap(provider: KeyProvider) -> float:
    owner, version, dek = uuid.uuid4(), provider.load().active_kek, secrets.token_bytes(32)
    return _rate(OPS, lambda: unwrap_dek(provider, owner, wrap_dek(provider, owner, dek, version),
                                         version))


def sign(provider: KeyProvider, key: SigningKey) -> float:
    vault = Vault(provider)
    return _rate(OPS, lambda: vault.sign(key, MESSAGE))


def blind_index(provider: KeyProvider) -> float:
    vault = Vault(provider)
    return _rate(OPS, lambda: vault.blind_index("card-number", "4539148803436467"))


# --- raw cryptography, the baseline ---------------------------------------------------------


def raw_seal_open() -> float:
    kek, dek = AESGCM(secrets.token_bytes(32)), secrets.token_bytes(32)
    nonce = secrets.token_bytes(12)
    wrapped = kek.encrypt(nonce, dek, AAD)

    def one() -> None:
        aead = AESGCM(kek.decrypt(nonce, wrapped, AAD))
        sealed = {}
        for column, value in FIELDS.items():
            field_nonce = secrets.token_bytes(12)
            sealed[column] = (field_nonce, aead.encrypt(field_nonce, value, column.encode()))
        for column, (field_nonce, blob) in sealed.items():
            aead.decrypt(field_nonce, blob, column.encode())
    return _rate(RECORDS, one)


def raw_wrap_unwrap() -> float:
    kek, dek = AESGCM(secrets.token_bytes(32)), secrets.token_bytes(32)

    def one() -> None:
        nonce = secrets.token_bytes(12)
        kek.decrypt(nonce, kek.encrypt(nonce, dek, AAD), AAD)
    return _rate(OPS, one)


def raw_sign() -> float:
    private = ed25519.Ed25519PrivateKey.generate()
    return _rate(OPS, lambda: private.sign(MESSAGE))


def raw_hmac() -> float:
    key = secrets.token_bytes(32)
    message = b"card-number\x004539148803436467"
    return _rate(OPS, lambda: hmac.new(key, message, hashlib.sha256).hexdigest())


# --- the token --------------------------------------------------------------------------------


def softhsm_token(folder: Path) -> tuple[str, str]:
    """A SoftHSM2 token in ``folder``: its label and user PIN."""
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before the module is loaded
    label, pin = "cityid-bench", secrets.token_hex(8)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                    "--so-pin", secrets.token_hex(8)], check=True, capture_output=True)
    return label, pin


def main() -> None:
    now = datetime.now(UTC)
    from privacy.keyring import Keyring

    keyring = Keyring.generate(now).with_signing_key(generate_signing_key("EdDSA", now=now))
    in_file = LoadedKeyring(keyring)
    with tempfile.TemporaryDirectory(prefix="cityid-bench-") as folder:
        label, pin = softhsm_token(Path(folder))
        module = Path(os.environ.get("CITYID_PKCS11_MODULE", str(DEFAULT_MODULE)))
        in_token = Pkcs11KeyProvider(module=module, token_label=label, pin=pin)
        in_token.save(replace(keyring, held=True))
        token_key = in_token.load().signing_keys[0]
        file_key = keyring.signing_keys[0]
        operations: list[tuple[str, Rate, Rate, Rate, str]] = [
            ("seal/open record", lambda: seal_open(in_file), lambda: seal_open(in_token),
             raw_seal_open, "records/s"),
            ("wrap+unwrap DEK", lambda: wrap_unwrap(in_file), lambda: wrap_unwrap(in_token),
             raw_wrap_unwrap, "pairs/s"),
            ("sign (Ed25519)", lambda: sign(in_file, file_key), lambda: sign(in_token, token_key),
             raw_sign, "signatures/s"),
            ("blind index", lambda: blind_index(in_file), lambda: blind_index(in_token),
             raw_hmac, "indexes/s"),
        ]
        print(f"{RUNS} runs; seal/open {RECORDS} records of {len(FIELDS)} fields, other "
              f"operations {OPS} each; PKCS#11 module {module}")
        print(f"{'operation':<18} {'raw':>12} {'file':>12} {'pkcs11':>12} "
              f"{'raw/file':>9} {'raw/pkcs11':>11} {'file/pkcs11':>12}")
        for name, file_rate, token_rate, raw_rate, unit in operations:
            samples: dict[str, list[float]] = {"raw": [], "file": [], "pkcs11": []}
            for _ in range(RUNS):  # interleaved, so the machine's drift hits all three alike
                samples["raw"].append(raw_rate())
                samples["file"].append(file_rate())
                samples["pkcs11"].append(token_rate())
            raw, ours, token = (statistics.median(samples[k]) for k in ("raw", "file", "pkcs11"))
            print(f"{name:<18} {raw:>12,.0f} {ours:>12,.0f} {token:>12,.0f} "
                  f"{raw / ours:>8.2f}x {raw / token:>10.2f}x {ours / token:>11.2f}x  ({unit})")
        in_token.close()


if __name__ == "__main__":
    main()
