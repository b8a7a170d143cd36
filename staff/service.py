"""Staff accounts, sign-in and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from passlib.context import CryptContext
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import AppError, ErrorKind
from cityid.ratelimit import Limit, RateLimiter
from cityid.roles import PARTNER_ROLES, Role
from partners import repository as partner_repository
from partners.errors import PartnerInactive, PartnerNotFound
from partners.models import Partner
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from staff import repository
from staff.errors import (
    InvalidCredentials,
    InvalidToken,
    LastAdmin,
    OwnAccount,
    SignInThrottled,
    StaffNotFound,
    UsernameTaken,
    WeakPassword,
)
from staff.models import StaffAccount, StaffToken

# argon2id: no 72-byte truncation or refusal as with bcrypt, so long pass-phrases just work.
passwords = CryptContext(schemes=["argon2"], deprecated="auto")


def configure_password_hashing(*, memory_kib: int, time_cost: int) -> None:
    """Set the argon2id cost (from settings); hashes made at another cost are upgraded at the
    next sign-in."""
    global _DUMMY_HASH
    passwords.update(argon2__memory_cost=memory_kib, argon2__rounds=time_cost)
    _DUMMY_HASH = passwords.hash("not-a-real-password-just-for-timing")


MIN_PASSWORD, MAX_PASSWORD = 12, 1024
COMMON_PASSWORDS = frozenset({"password1234", "123456789012", "qwertyuiopas", "changemechangeme",
                              "passwordpassword", "adminadminadmin"})
TOKEN_PREFIX = "cst_"  # noqa: S105 - a prefix, not a secret
_DUMMY_HASH = passwords.hash("not-a-real-password-just-for-timing")


@dataclass(frozen=True)
class SignInPolicy:
    per_user: Limit
    per_client: Limit


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime
    role: Role


def check_password_strength(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD or password.lower() in COMMON_PASSWORDS:
        raise WeakPassword()
    if len(set(password)) < 4:
        raise WeakPassword()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PartnerRoleMismatch(AppError):
    kind = ErrorKind.INVALID
    code = "partner_role_mismatch"
    title = ("A partner account has a partner role and belongs to a partner; a program account "
             "has neither")


def _check_role(role: Role, partner_id: uuid.UUID | None) -> None:
    if (role in PARTNER_ROLES) != (partner_id is not None):
        raise PartnerRoleMismatch()


def create_account(session: Session, *, actor: Actor, username: str, password: str, role: Role,
                   clock: Clock = system_clock,
                   partner_id: uuid.UUID | None = None) -> StaffAccount:
    """A program account, or with ``partner_id`` one of that partner's own accounts."""
    _check_role(role, partner_id)
    check_password_strength(password)
    if partner_id is not None and partner_repository.get_partner(session, partner_id) is None:
        raise PartnerNotFound()
    username = username.lower()
    refuse_immigration_terms("username", username)
    if repository.get_by_username(session, username) is not None:
        raise UsernameTaken()
    account = StaffAccount(id=uuid.uuid4(), username=username,
                           password_hash=passwords.hash(password), role=role.value, active=True,
                           created_at=clock.now(), partner_id=partner_id)
    repository.add(session, account)
    detail = {"role": role.value}
    if partner_id is not None:
        detail["partner"] = str(partner_id)
    audit.record(session, actor=actor, action="staff.created", subject=f"staff:{account.id}",
                 detail=detail, clock=clock)
    return account


def update_account(session: Session, *, actor: Actor, staff_id: uuid.UUID, active: bool | None,
                   role: Role | None, clock: Clock = system_clock,
                   partner_id: uuid.UUID | None = None) -> StaffAccount:
    """With ``partner_id`` (a partner admin acting), only that partner's accounts are found."""
    account = repository.get(session, staff_id)
    if account is None or (partner_id is not None and account.partner_id != partner_id):
        raise StaffNotFound()
    if active is False and actor.id == str(account.id):
        raise OwnAccount()
    _keep_an_admin(session, account, active=active, role=role)
    if role is not None:
        _check_role(role, account.partner_id)
        account.role = role
    if active is not None:
        account.active = active
    if active is False or role is not None:
        repository.revoke_all_tokens(session, account.id, clock.now())
    session.flush()
    audit.record(session, actor=actor, action="staff.updated", subject=f"staff:{account.id}",
                 detail={"role": account.role, "active": account.active}, clock=clock)
    return account


def _keep_an_admin(session: Session, account: StaffAccount, *, active: bool | None,
                   role: Role | None) -> None:
    """The program always keeps one active admin: nobody else could make or restore one."""
    leaves = account.role == Role.ADMIN.value and account.active and (
        active is False or (role is not None and role is not Role.ADMIN))
    if not leaves:
        return
    admins = repository.lock_active_admins(session)
    if all(a.id == account.id for a in admins):
        raise LastAdmin()


def get_account(session: Session, staff_id: uuid.UUID | str) -> StaffAccount:
    account = repository.get(session, uuid.UUID(str(staff_id)))
    if account is None:
        raise StaffNotFound()
    return account


def list_accounts(session: Session, *, partner_id: uuid.UUID | None = None) -> list[StaffAccount]:
    """Every account; with ``partner_id``, that partner's accounts only."""
    accounts = repository.list_accounts(session)
    if partner_id is None:
        return list(accounts)
    return [a for a in accounts if a.partner_id == partner_id]


def partner_of(session: Session, account: StaffAccount) -> Partner | None:
    """The partner a partner account belongs to, if it is one; refused while the partner is
    inactive, as its API keys are."""
    if account.partner_id is None:
        return None
    partner = partner_repository.get_partner(session, account.partner_id)
    if partner is None or not partner.active:
        raise PartnerInactive()
    return partner


def sign_in(session: Session, *, username: str, password: str, client: str,
            limiter: RateLimiter, policy: SignInPolicy, ttl: timedelta,
            clock: Clock = system_clock) -> Token:
    """Every attempt takes its throttle slots before the password is checked, so concurrent
    guesses can't all slip under the limit; a success gives the account's back (clears it).
    The client's own slot is taken first: a client past its limit can't use up an account's."""
    username = username.lower()
    limiter.consume(policy.per_client, client, SignInThrottled)
    limiter.consume(policy.per_user, username, SignInThrottled)
    account = repository.get_by_username(session, username)
    # Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    valid = passwords.verify(password, account.password_hash if account else _DUMMY_HASH)
    if account is None or not valid or not account.active:
        # Audited, never with the name that was typed (it could be anything, a resident's name
        # included). The caller must let this transaction commit although sign-in failed.
        reason = ("unknown_account" if account is None else
                  "wrong_password" if not valid else "inactive_account")
        audit.record(session, actor=Actor("anonymous", "none"), action="auth.sign_in_failed",
                     subject=f"staff:{account.id}" if account else None,
                     detail={"reason": reason}, clock=clock)
        raise InvalidCredentials()
    limiter.clear(policy.per_user, username)
    if passwords.needs_update(account.password_hash):
        account.password_hash = passwords.hash(password)
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = StaffToken(token_hash=_token_hash(value), staff_id=account.id, created_at=now,
                       expires_at=now + ttl, last_used_at=now)
    repository.add_token(session, token)
    audit.record(session, actor=Actor(str(account.id), account.role), action="auth.signed_in",
                 subject=f"staff:{account.id}", clock=clock)
    return Token(value=value, expires_at=token.expires_at, role=Role(account.role))


# Recording each use costs a write; a minute's precision is enough for an idle timeout.
TOUCH_EVERY = timedelta(seconds=60)


def resolve_token(session: Session, value: str, *, clock: Clock = system_clock,
                  idle: timedelta | None = None) -> StaffAccount:
    """The account behind a token, if the token is live. With ``idle`` (browser sessions), a
    token unused for that long is dead too."""
    if not value.startswith(TOKEN_PREFIX):
        raise InvalidToken()
    found = repository.get_token(session, _token_hash(value))
    if found is None:
        raise InvalidToken()
    token, account = found
    now = clock.now()
    if token.revoked_at is not None or token.expires_at <= now or not account.active:
        raise InvalidToken()
    last = token.last_used_at or token.created_at
    if idle is not None and now - last > idle:
        raise InvalidToken("The session ended after a period of inactivity; sign in again.")
    if now - last >= TOUCH_EVERY:
        token.last_used_at = now
    return account


def sign_out(session: Session, *, actor: Actor, value: str, clock: Clock = system_clock) -> None:
    repository.revoke_token(session, _token_hash(value), clock.now())
    audit.record(session, actor=actor, action="auth.signed_out", subject=f"staff:{actor.id}",
                 clock=clock)
