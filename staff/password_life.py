"""A password's life after the account is made: changed by its holder, reset by an admin
(forcing a change at the next sign-in), and the holder's own sessions, listed and ended."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import AppError, Conflict, ErrorKind
from cityid.ratelimit import RateLimiter
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from staff import credentials, repository
from staff.credentials import SignInPolicy
from staff.errors import StaffNotFound
from staff.models import StaffAccount
from staff.passwords import check_password_strength, passwords


class SamePassword(AppError):
    kind = ErrorKind.INVALID
    code = "same_password"
    title = "The new password must differ from the old one"


class OwnPassword(Conflict):
    code = "own_password"
    title = "Change your own password with the old one; a reset is for another's account"


@dataclass(frozen=True)
class SessionInfo:
    # The first characters of the stored hash: enough to tell sessions apart, useless to sign in.
    id: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool


def change_own_password(session: Session, *, username: str, password: str, new_password: str,
                        second_factor: str | None, vault: Vault, client: str,
                        limiter: RateLimiter, policy: SignInPolicy,
                        clock: Clock = system_clock) -> StaffAccount:
    """The old password and, where the account signs in with one, its second factor: as much
    as a sign-in asks, under the same throttle. Every session ends, so a session an intruder
    opened with the old password does not outlive it. Clears an admin's forced change."""
    account = credentials.authenticate(session, username=username, password=password,
                                       client=client, limiter=limiter, policy=policy,
                                       clock=clock)
    credentials.check_second_factor(session, account=account, code=second_factor, vault=vault,
                        policy=policy, clock=clock)
    check_password_strength(new_password)
    if passwords.verify(new_password, account.password_hash):
        raise SamePassword()
    account.password_hash = passwords.hash(new_password)
    account.must_change_password = False
    repository.revoke_all_tokens(session, account.id, clock.now())
    credentials.signed_in_from(limiter, policy, username=account.username, client=client)
    audit.record(session, actor=Actor(str(account.id), account.role),
                 action="auth.password_changed", subject=f"staff:{account.id}", clock=clock)
    return account


def reset_password(session: Session, *, actor: Actor, staff_id: uuid.UUID, password: str,
                   partner_id: uuid.UUID | None = None,
                   clock: Clock = system_clock) -> StaffAccount:
    """An admin sets a temporary password; the holder must replace it before signing in."""
    account = repository.get(session, staff_id)
    if account is None or (partner_id is not None and account.partner_id != partner_id):
        raise StaffNotFound()
    if actor.id == str(account.id):
        # Resetting one's own password would skip the old password a change asks for.
        raise OwnPassword()
    check_password_strength(password)
    account.password_hash = passwords.hash(password)
    account.must_change_password = True
    repository.revoke_all_tokens(session, account.id, clock.now())
    session.flush()
    audit.record(session, actor=actor, action="staff.password_reset",
                 subject=f"staff:{account.id}", clock=clock)
    return account


def list_sessions(session: Session, *, staff_id: uuid.UUID, current_token_hash: str,
                  clock: Clock = system_clock) -> list[SessionInfo]:
    return [SessionInfo(id=t.token_hash[:12], created_at=t.created_at,
                        last_used_at=t.last_used_at, expires_at=t.expires_at,
                        current=t.token_hash == current_token_hash)
            for t in repository.live_tokens(session, staff_id, clock.now())]


def sign_out_everywhere(session: Session, *, actor: Actor, clock: Clock = system_clock) -> None:
    repository.revoke_all_tokens(session, uuid.UUID(actor.id), clock.now())
    audit.record(session, actor=actor, action="auth.signed_out_everywhere",
                 subject=f"staff:{actor.id}", clock=clock)
