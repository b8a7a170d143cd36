"""Password hashing and the password rule: a length, and not a breached or common password
(NIST SP 800-63B 5.1.1.2), rather than composition rules."""

from __future__ import annotations

import functools
from pathlib import Path

from passlib.context import CryptContext

from staff.errors import WeakPassword

# argon2id: no 72-byte truncation or refusal as with bcrypt, so long pass-phrases just work.
passwords = CryptContext(schemes=["argon2"], deprecated="auto")

MIN_PASSWORD, MAX_PASSWORD = 12, 1024
COMMON_PASSWORDS_PATH = Path(__file__).with_name("common_passwords.txt")
_dummy: dict[str, str] = {"hash": str(passwords.hash("not-a-real-password-just-for-timing"))}


def configure_password_hashing(*, memory_kib: int, time_cost: int) -> None:
    """Set the argon2id cost (from settings); hashes made at another cost are upgraded at the
    next sign-in."""
    passwords.update(argon2__memory_cost=memory_kib, argon2__rounds=time_cost)
    _dummy["hash"] = str(passwords.hash("not-a-real-password-just-for-timing"))


def dummy_hash() -> str:
    """A hash at the current cost to verify against when there is no account, so the time an
    answer takes does not tell which usernames exist."""
    return _dummy["hash"]


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """A listed password, or one made by repeating or padding a listed one with digits and
    punctuation ("password1234", "iloveyouiloveyou"): the first thing a guesser tries."""
    lowered = password.lower()
    listed = common_passwords()
    if lowered in listed:
        return True
    core = lowered.rstrip("0123456789!@#$%^&*?.-_ ").lstrip("0123456789!@#$%^&*?.-_ ")
    if core and core in listed:
        return True
    for size in range(1, len(lowered) // 2 + 1):
        unit = lowered[:size]
        if len(lowered) % size == 0 and unit * (len(lowered) // size) == lowered:
            return unit in listed or len(set(unit)) < 4
    return False


def check_password_strength(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or is_common(password):
        raise WeakPassword()
    if len(set(password)) < 4:
        raise WeakPassword()
