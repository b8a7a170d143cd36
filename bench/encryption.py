"""Encrypt and decrypt a resident record through privacy/, against raw AES-256-GCM on the same
bytes in the same run. Prints both rates and the ratio (median of several runs)."""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.keyring import Keyring
from privacy.vault import DataKeyHandle, unwrap_dek, wrap_dek

FIELDS = {
    "first_name": b"Zephyrine",
    "middle_name": b"Ottoline",
    "last_name": b"Quillfeather-Abernathy",
    "date_of_birth": b"1987-03-14",
    "address": json.dumps({"line1": "742 Evergreen Terrace", "line2": "Apt 5B",
                           "city": "Springfield", "state": "NY", "postal_code": "11201"}).encode(),
}
RECORDS = int(os.environ.get("BENCH_RECORDS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def through_privacy(keyring: Keyring) -> float:
    """Per record: unwrap the resident's DEK, seal every field, then open every field."""
    owner = uuid.uuid4()
    wrapped = wrap_dek(keyring, owner, secrets.token_bytes(32), keyring.active_kek)
    started = time.perf_counter()
    for _ in range(RECORDS):
        record = DataKeyHandle(owner, unwrap_dek(keyring, owner, wrapped, keyring.active_kek)
                               ).record("residents", owner)
        sealed = {c: record.seal(c, v) for c, v in FIELDS.items()}
        for column, blob in sealed.items():
            record.open(column, blob)
    return RECORDS / (time.perf_counter() - started)


def raw_aes_gcm() -> float:
    """The same fields with one AES-GCM key, no envelope, no associated data."""
    aead = AESGCM(secrets.token_bytes(32))
    started = time.perf_counter()
    for _ in range(RECORDS):
        sealed = {}
        for column, value in FIELDS.items():
            nonce = secrets.token_bytes(12)
            sealed[column] = (nonce, aead.encrypt(nonce, value, None))
        for nonce, blob in sealed.values():
            aead.decrypt(nonce, blob, None)
    return RECORDS / (time.perf_counter() - started)


def main() -> None:
    keyring = Keyring.generate()
    ours, raw = [], []
    for _ in range(RUNS):
        ours.append(through_privacy(keyring))
        raw.append(raw_aes_gcm())
    ours_median, raw_median = statistics.median(ours), statistics.median(raw)
    print(f"records: {RECORDS} x {RUNS} runs, {len(FIELDS)} fields each (seal + open)")
    print(f"privacy/ envelope encryption: {ours_median:>10,.0f} records/s (median)")
    print(f"raw AES-256-GCM baseline:     {raw_median:>10,.0f} records/s (median)")
    print(f"ratio raw/privacy:            {raw_median / ours_median:>10.2f}x")


if __name__ == "__main__":
    main()
