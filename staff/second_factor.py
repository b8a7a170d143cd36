"""Second factors for staff: TOTP (RFC 6238, through ``pyotp``) and single-use recovery codes.

The TOTP secret is sealed under the account's own data key in the vault (so it rotates and
moves into a key token with every other key), is shown once as a QR code at enrolment, and is
never shown again. Each accepted code's time step is remembered and a code of that step or an
earlier one is refused, so a code seen over someone's shoulder can't be used a second time.
Recovery codes are hashed like passwords and each works once.
"""

from __future__ import annotations

import functools
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyotp
import qrcode
import qrcode.image.svg
import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from staff import repository
from staff.errors import (
    AlreadyEnrolled,
    InvalidSecondFactor,
    NoEnrolmentStarted,
    SecondFactorEnrolmentRequired,
    SecondFactorNotEnrolled,
    SecondFactorRequired,
)
from staff.models import Role, StaffAccount, StaffRecoveryCode, StaffSecondFactor
from staff.passwords import passwords

RULES_PATH = Path(__file__).with_name("second_factor.yaml")
TABLE, COLUMN = "staff_second_factors", "totp_secret_enc"
STEP_SECONDS = 30
# Ten characters from a 32-letter alphabet without look-alikes: 50 bits, typed from paper.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class SecondFactorRules:
    always: frozenset[str]
    by_setting: frozenset[str]
    drift_steps: int
    recovery_codes: int
    issuer: str

    def required_roles(self, *, for_all_staff: bool) -> frozenset[str]:
        return self.always | self.by_setting if for_all_staff else self.always


@functools.cache
def default_rules() -> SecondFactorRules:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    always, by_setting = frozenset(data["always"]), frozenset(data["by_setting"])
    roles = {r.value for r in Role}
    # Every role is ruled exactly once: a new role nobody thought about must not slip through.
    if always & by_setting or always | by_setting != roles:
        raise ValueError(f"{RULES_PATH.name} must place each of {sorted(roles)} in exactly one "
                         "of always and by_setting")
    return SecondFactorRules(always=always, by_setting=by_setting,
                             drift_steps=int(data["drift_steps"]),
                             recovery_codes=int(data["recovery_codes"]),
                             issuer=str(data["issuer"]))


@dataclass(frozen=True)
class Enrolment:
    """What the enrolling person sees once: the secret, as text and as a QR code."""

    secret: str
    uri: str
    qr_svg: str


def _step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def _seal(vault: Vault, session: Session, account: StaffAccount, secret: str) -> bytes:
    # A fresh data key per enrolment: resetting the factor shreds the old one with its key.
    vault.shred(session, account.id)
    handle = vault.create_data_key(session, account.id)
    return handle.record(TABLE, account.id).seal(COLUMN, secret.encode())


def _open(vault: Vault, session: Session, factor: StaffSecondFactor) -> str:
    handle = vault.open_data_key(session, factor.staff_id)
    return handle.record(TABLE, factor.staff_id).open(COLUMN, factor.totp_secret_enc).decode()


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def is_enrolled(session: Session, account: StaffAccount) -> bool:
    factor = repository.get_second_factor(session, account.id)
    return factor is not None and factor.confirmed_at is not None


def start_enrolment(session: Session, *, vault: Vault, account: StaffAccount,
                    rules: SecondFactorRules | None = None,
                    clock: Clock = system_clock) -> Enrolment:
    """A new secret, kept unconfirmed until :func:`confirm_enrolment` sees a code from it.
    Refused once a factor is confirmed: replacing one takes an admin's reset."""
    rules = rules or default_rules()
    factor = repository.lock_second_factor(session, account.id)
    if factor is not None and factor.confirmed_at is not None:
        raise AlreadyEnrolled()
    secret = pyotp.random_base32(32)
    sealed = _seal(vault, session, account, secret)
    if factor is None:
        repository.add_second_factor(session, StaffSecondFactor(
            staff_id=account.id, totp_secret_enc=sealed, created_at=clock.now()))
    else:
        factor.totp_secret_enc, factor.created_at, factor.last_step = sealed, clock.now(), None
        session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=rules.issuer)
    return Enrolment(secret=secret, uri=uri, qr_svg=_qr_svg(uri))


def confirm_enrolment(session: Session, *, vault: Vault, account: StaffAccount, code: str,
                      rules: SecondFactorRules | None = None,
                      clock: Clock = system_clock) -> list[str]:
    """Confirms the factor with a first code and returns fresh recovery codes (shown once)."""
    rules = rules or default_rules()
    factor = repository.lock_second_factor(session, account.id)
    if factor is None:
        raise NoEnrolmentStarted()
    if factor.confirmed_at is not None:
        raise AlreadyEnrolled()
    _accept_totp(vault, session, factor, code, rules, clock)
    factor.confirmed_at = clock.now()
    codes = _new_recovery_codes(session, account, rules)
    audit.record(session, actor=Actor(str(account.id), account.role),
                 action="auth.second_factor_enrolled", subject=f"staff:{account.id}",
                 detail={"recovery_codes": len(codes)}, clock=clock)
    return codes


def _new_recovery_codes(session: Session, account: StaffAccount,
                        rules: SecondFactorRules) -> list[str]:
    repository.delete_recovery_codes(session, account.id)
    codes = []
    for _ in range(rules.recovery_codes):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        repository.add_recovery_code(session, StaffRecoveryCode(
            staff_id=account.id, code_hash=passwords.hash(raw)))
    return codes


def _accept_totp(vault: Vault, session: Session, factor: StaffSecondFactor, code: str,
                 rules: SecondFactorRules, clock: Clock) -> None:
    totp = pyotp.TOTP(_open(vault, session, factor))
    now = _step(clock.now())
    for step in range(now - rules.drift_steps, now + rules.drift_steps + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            # The row is locked, so two sign-ins with one code queue here and the second
            # finds the step already used.
            if factor.last_step is not None and step <= factor.last_step:
                break
            factor.last_step = step
            session.flush()
            return
    raise InvalidSecondFactor()


def _normalise_recovery(code: str) -> str | None:
    raw = code.replace("-", "").replace(" ", "").lower()
    if len(raw) == 10 and all(c in RECOVERY_ALPHABET for c in raw):
        return raw
    return None


def _use_recovery_code(session: Session, account: StaffAccount, raw: str,
                       clock: Clock) -> None:
    # Locked, so one code used twice at once is accepted once.
    for stored in repository.lock_unused_recovery_codes(session, account.id):
        if passwords.verify(raw, stored.code_hash):
            stored.used_at = clock.now()
            session.flush()
            left = repository.count_unused_recovery_codes(session, account.id)
            audit.record(session, actor=Actor(str(account.id), account.role),
                         action="auth.recovery_code_used", subject=f"staff:{account.id}",
                         detail={"left": left}, clock=clock)
            return
    raise InvalidSecondFactor()


def check(session: Session, *, vault: Vault | None, account: StaffAccount, code: str | None,
          required: bool, rules: SecondFactorRules | None = None,
          clock: Clock = system_clock) -> None:
    """Passes if the account needs no code, or the code is a fresh TOTP code or an unused
    recovery code. An enrolled account is always asked, whether or not its role requires it."""
    rules = rules or default_rules()
    factor = repository.lock_second_factor(session, account.id)
    if factor is None or factor.confirmed_at is None:
        if required:
            raise SecondFactorEnrolmentRequired()
        return
    if not code or not code.strip():
        raise SecondFactorRequired()
    if vault is None:
        raise InvalidSecondFactor("This sign-in path cannot check a second factor.")
    code = code.strip()
    if code.isdigit():
        _accept_totp(vault, session, factor, code, rules, clock)
        return
    raw = _normalise_recovery(code)
    if raw is None:
        raise InvalidSecondFactor()
    _use_recovery_code(session, account, raw, clock)


def new_recovery_codes(session: Session, *, account: StaffAccount,
                       rules: SecondFactorRules | None = None,
                       clock: Clock = system_clock) -> list[str]:
    """Replaces the account's recovery codes (after a full sign-in)."""
    if not is_enrolled(session, account):
        raise SecondFactorNotEnrolled()
    codes = _new_recovery_codes(session, account, rules or default_rules())
    audit.record(session, actor=Actor(str(account.id), account.role),
                 action="auth.recovery_codes_renewed", subject=f"staff:{account.id}",
                 detail={"recovery_codes": len(codes)}, clock=clock)
    return codes


def reset(session: Session, *, actor: Actor, vault: Vault, account: StaffAccount,
          clock: Clock = system_clock) -> None:
    """An admin removes a lost factor; the holder enrols again at the next sign-in. The
    account's sessions end: whoever holds the lost phone may hold one of them too."""
    factor = repository.lock_second_factor(session, account.id)
    if factor is None:
        raise SecondFactorNotEnrolled()
    repository.delete_second_factor(session, account.id)
    repository.delete_recovery_codes(session, account.id)
    vault.shred(session, account.id)
    repository.revoke_all_tokens(session, account.id, clock.now())
    audit.record(session, actor=actor, action="auth.second_factor_reset",
                 subject=f"staff:{account.id}", clock=clock)
