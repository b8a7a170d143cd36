"""What a running service holds: settings, the database, the vault, the rate limiter, the clock,
the audit chainer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityid.clock import Clock, system_clock
from cityid.db import make_engine, session_factory
from cityid.ratelimit import Limit, RateLimiter
from cityid.settings import Settings
from enrollment.rulebook import Rulebook, load_rulebook
from enrollment.service import EnrollmentDesk, StatusCheckPolicy
from idcard.service import CardDesk
from privacy.audit import Chainer
from privacy.keyring import EnvKeyProvider, FileKeyProvider, KeyProvider
from privacy.vault import Vault
from redemption.ledger import LedgerDesk
from staff.service import SignInPolicy, configure_password_hashing


def key_provider_for(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        return EnvKeyProvider(settings.keyring)
    return FileKeyProvider(settings.effective_keyring_path)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    limiter: RateLimiter
    clock: Clock
    rulebook: Rulebook
    audit_chainer: Chainer

    @property
    def enrollment(self) -> EnrollmentDesk:
        return EnrollmentDesk(vault=self.vault, rulebook=self.rulebook, clock=self.clock,
                              max_photo_bytes=self.settings.max_photo_bytes)

    @property
    def cards(self) -> CardDesk:
        s = self.settings
        return CardDesk(enrollment=self.enrollment, issuer=s.issuer, issuer_name=s.issuer_name,
                        status_list_ttl=timedelta(hours=s.status_list_ttl_hours),
                        status_list_url=f"{s.issuer.rstrip('/')}/.well-known/cityid/status-list",
                        status_list_size=s.status_list_size)

    @property
    def ledger(self) -> LedgerDesk:
        return LedgerDesk(cards=self.cards, zone=ZoneInfo(self.settings.city_timezone),
                          void_window=timedelta(minutes=self.settings.redemption_void_minutes))

    @property
    def partner_limits(self) -> tuple[Limit, Limit]:
        s = self.settings
        return (Limit("partner:key", s.partner_requests_per_minute, 60),
                Limit("partner:client", s.partner_requests_per_minute_per_client, 60))

    @property
    def holder_history_limit(self) -> Limit:
        return Limit("holder:history", self.settings.holder_history_per_hour, 3600)

    @property
    def status_check_policy(self) -> StatusCheckPolicy:
        s = self.settings
        return StatusCheckPolicy(
            per_reference=Limit("status:reference", s.status_checks_per_reference,
                                s.status_check_window_seconds),
            per_client=Limit("status:client", s.status_checks_per_client,
                             s.status_check_window_seconds),
            successes_per_reference=Limit("status:reference:ok", s.status_successes_per_reference,
                                          s.status_check_window_seconds),
        )

    @property
    def sign_in_policy(self) -> SignInPolicy:
        s = self.settings
        return SignInPolicy(
            per_user=Limit("login:user", s.login_max_failures, s.login_failure_window_seconds),
            per_client=Limit("login:client", s.login_max_failures_per_client,
                             s.login_failure_window_seconds),
        )

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.token_ttl_minutes)


def build_runtime(settings: Settings, *, clock: Clock = system_clock,
                  engine: Engine | None = None) -> Runtime:
    configure_password_hashing(memory_kib=settings.argon2_memory_kib,
                               time_cost=settings.argon2_time_cost)
    engine = engine or make_engine(settings.effective_database_url, hide_parameters=True,
                                   pool_size=settings.database_pool_size)
    sessions = session_factory(engine)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        vault=Vault(key_provider_for(settings), clock),
        limiter=RateLimiter(settings.rate_limit_storage_uri),
        clock=clock,
        rulebook=load_rulebook(settings.rulebook_path),
        audit_chainer=Chainer(sessions, interval=settings.audit_chain_interval_seconds),
    )
