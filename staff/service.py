"""Staff accounts, sign-in and bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import AppError, ErrorKind
from cityid.ratelimit import RateLimiter
from cityid.roles import PARTNER_ROLES, Role
from partners import repository as partner_repository
from partners.errors import PartnerInactive, PartnerNotFound
from partners.models import Partner
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from privacy.vault import Vault
from staff import credentials, repository
from staff.credentials import SignInPolicy
from staff.errors import (
    InvalidToken,
    LastAdmin,
    OwnAccount,
    PasswordChangeRequired,
    StaffNotFound,
    UsernameTaken,
)
from staff.models import StaffAccount, StaffToken
from staff.passwords import check_password_strength, configure_password_hashing, passwords

__all__ = ["SignInPolicy", "check_password_strength", "configure_password_hashing", "passwords"]

TOKEN_PREFIX = "cst_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime
    role: Role


def token_hash(token: str) -> str:
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


def get_account_by_username(session: Session, username: str) -> StaffAccount:
    account = repository.get_by_username(session, username.lower())
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
            clock: Clock = system_clock, second_factor: str | None = None,
            vault: Vault | None = None) -> Token:
    """The password, then the second factor where the account has one or its role needs one,
    then a forced password change; only then is the client's failure count cleared."""
    account = credentials.authenticate(session, username=username, password=password,
                                       client=client, limiter=limiter, policy=policy,
                                       clock=clock)
    credentials.check_second_factor(session, account=account, code=second_factor, vault=vault,
                        policy=policy, clock=clock)
    if account.must_change_password:
        credentials.failed(session, account, "password_change_required", clock)
        raise PasswordChangeRequired()
    credentials.signed_in_from(limiter, policy, username=account.username, client=client)
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = StaffToken(token_hash=token_hash(value), staff_id=account.id, created_at=now,
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
    found = repository.get_token(session, token_hash(value))
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
    repository.revoke_token(session, token_hash(value), clock.now())
    audit.record(session, actor=actor, action="auth.signed_out", subject=f"staff:{actor.id}",
                 clock=clock)
