"""Checking a username and password, throttled so that guessing is slow but a stranger's
guesses can't lock the account holder out.

Three counts, each taken before the password is checked (so concurrent guesses can't all slip
under a limit): one per client, one per (account, client) and a slower one per account across
all clients. A stranger's wrong guesses use up only their own (account, client) count; the
account-wide count is much larger and is not applied at all to a client that signed this
account in recently, so the holder's usual desk keeps working while the account is attacked
from elsewhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.ratelimit import Limit, RateLimiter
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from staff import repository
from staff import second_factor as second_factors
from staff.errors import InvalidCredentials, SignInThrottled
from staff.models import StaffAccount
from staff.passwords import dummy_hash, passwords


@dataclass(frozen=True)
class SignInPolicy:
    # Failed attempts of one account from one client (the familiar lockout, but per client).
    per_user: Limit
    per_client: Limit
    # Attempts of one account from all clients except those it signed in from lately.
    per_account: Limit | None = None
    # How long a client that signed an account in stays that account's "usual" client.
    known_client: Limit | None = None
    # Roles that must give a second factor (staff/second_factor.yaml and the city's setting).
    second_factor_roles: frozenset[str] = frozenset({"supervisor", "admin", "auditor"})


def _pair(username: str, client: str) -> str:
    # Hashed so the limiter's keys don't spell out who signs in from where.
    return hashlib.sha256(f"{username}\x00{client}".encode()).hexdigest()


def _is_known_client(limiter: RateLimiter, policy: SignInPolicy, pair: str) -> bool:
    # The known-client mark is a limit of one: once hit, its window says "seen lately".
    return policy.known_client is not None and \
        limiter.retry_after(policy.known_client, pair) is not None


def take_attempt(limiter: RateLimiter, policy: SignInPolicy, *, username: str,
                 client: str) -> None:
    """Count one attempt before any work, refusing it past a limit. The client's own slot is
    taken first: a client past its limit can't use up an account's."""
    pair = _pair(username, client)
    limiter.consume(policy.per_client, client, SignInThrottled)
    limiter.consume(policy.per_user, pair, SignInThrottled)
    if policy.per_account is not None and not _is_known_client(limiter, policy, pair):
        limiter.consume(policy.per_account, username, SignInThrottled)


def signed_in_from(limiter: RateLimiter, policy: SignInPolicy, *, username: str,
                   client: str) -> None:
    """A full sign-in succeeded: this client's failures are forgiven and it becomes one of the
    account's usual clients."""
    pair = _pair(username, client)
    limiter.clear(policy.per_user, pair)
    if policy.known_client is not None:
        limiter.clear(policy.known_client, pair)
        limiter.hit(policy.known_client, pair)


def failed(session: Session, account: StaffAccount | None, reason: str,
           clock: Clock = system_clock) -> None:
    """Audited, never with the name that was typed (it could be anything, a resident's name
    included). The caller must let this transaction commit although sign-in failed."""
    audit.record(session, actor=Actor("anonymous", "none"), action="auth.sign_in_failed",
                 subject=f"staff:{account.id}" if account else None,
                 detail={"reason": reason}, clock=clock)


def authenticate(session: Session, *, username: str, password: str, client: str,
                 limiter: RateLimiter, policy: SignInPolicy,
                 clock: Clock = system_clock) -> StaffAccount:
    """The active account with this username and password, or InvalidCredentials (audited)."""
    username = username.lower()
    take_attempt(limiter, policy, username=username, client=client)
    account = repository.get_by_username(session, username)
    # Verify against a dummy hash for unknown users so timing does not reveal which names exist.
    valid = passwords.verify(password, account.password_hash if account else dummy_hash())
    if account is None or not valid or not account.active:
        failed(session, account, "unknown_account" if account is None else
               "wrong_password" if not valid else "inactive_account", clock)
        raise InvalidCredentials()
    if passwords.needs_update(account.password_hash):
        account.password_hash = passwords.hash(password)
    return account


def check_second_factor(session: Session, *, account: StaffAccount, code: str | None,
                        vault: Vault | None, policy: SignInPolicy,
                        clock: Clock = system_clock) -> None:
    """A wrong, missing or replayed code is audited as a failed sign-in and refused."""
    try:
        second_factors.check(session, vault=vault, account=account, code=code,
                             required=account.role in policy.second_factor_roles, clock=clock)
    except InvalidCredentials as exc:
        failed(session, account, _FACTOR_FAILURES.get(exc.code, "second_factor"), clock)
        raise


_FACTOR_FAILURES = {"second_factor_required": "second_factor_missing",
                    "second_factor_enrolment_required": "second_factor_not_enrolled",
                    "invalid_second_factor": "wrong_second_factor"}
