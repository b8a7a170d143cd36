"""What a running service holds: settings, the database, the vault, the rate limiter, the clock,
the audit chainer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityid.clock import Clock, system_clock
from cityid.db import make_engine, session_factory
from cityid.gcra import PartnerLimiter
from cityid.ratelimit import Limit, RateLimiter
from cityid.settings import Settings
from enrollment.rulebook import Rulebook, load_rulebook
from enrollment.service import EnrollmentDesk, StatusCheckPolicy
from idcard.cose import (
    HEADER_CONTENT_TYPE,
    HEADER_TYP,
    CredentialError,
    public_jwks,
    read_cose_sign1,
    sign_cose,
    verify_cose,
)
from idcard.errors import NoSigningKey
from idcard.service import CardDesk
from privacy import anchor, audit
from privacy.audit import Chainer
from privacy.keyring import EnvKeyProvider, FileKeyProvider, KeyProvider
from privacy.vault import Vault
from redemption.ledger import LedgerDesk
from redemption.verification import NumberGuard
from staff.service import SignInPolicy, configure_password_hashing


def key_provider_for(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        return EnvKeyProvider(settings.keyring)
    return FileKeyProvider(settings.effective_keyring_path)


@dataclass(frozen=True)
class CoseHeadSigning:
    """Audit chain heads as COSE_Sign1 under the card signing key, like the status list, so the
    published JWKS checks them. Checked against ``jwks``, or every key of the keyring."""

    vault: Vault
    jwks: Mapping[str, Any] | None = None

    def sign(self, payload: bytes) -> bytes:
        key = self.vault.active_signing_key()
        if key is None:
            raise NoSigningKey()
        return sign_cose(payload, key, headers={HEADER_TYP: anchor.TYP,
                                                HEADER_CONTENT_TYPE: anchor.PAYLOAD_TYPE})

    def open(self, document: bytes) -> bytes:
        try:
            message = read_cose_sign1(document)
        except CredentialError:
            raise anchor.AnchorInvalid("the signed head is not a COSE_Sign1") from None
        if message.protected.get(HEADER_TYP) != anchor.TYP:
            raise anchor.AnchorInvalid("the signed document is not typed as an audit head")
        try:
            verify_cose(message, self.jwks or public_jwks(self.vault.signing_keys()))
        except CredentialError as exc:
            raise anchor.AnchorInvalid(f"not signed by a published key ({exc.reason})") from None
        return message.payload


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
    # The two partner limits, O(1) a hit (issue 14); every other throttle uses ``limiter``.
    partner_limiter: PartnerLimiter = field(default_factory=PartnerLimiter)

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
                        status_list_size=s.status_list_size, seal_qr=s.qr_sealed)

    @property
    def ledger(self) -> LedgerDesk:
        return LedgerDesk(cards=self.cards, zone=ZoneInfo(self.settings.city_timezone),
                          void_window=timedelta(minutes=self.settings.redemption_void_minutes),
                          guard=self.number_guard)

    @property
    def number_guard(self) -> NumberGuard:
        return NumberGuard(self.limiter, Limit("verify:card_number",
                                               self.settings.verify_by_number_per_card_per_hour,
                                               3600))

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

    @property
    def audit_publisher(self) -> anchor.HeadPublisher:
        return head_publisher(self.settings, self.vault, self.clock)


def head_publisher(settings: Settings, vault: Vault, clock: Clock) -> anchor.HeadPublisher:
    return anchor.HeadPublisher(signing=CoseHeadSigning(vault), issuer=settings.issuer,
                                clock=clock,
                                every=timedelta(seconds=settings.audit_anchor_interval_seconds))


def build_runtime(settings: Settings, *, clock: Clock = system_clock,
                  engine: Engine | None = None) -> Runtime:
    configure_password_hashing(memory_kib=settings.argon2_memory_kib,
                               time_cost=settings.argon2_time_cost)
    engine = engine or make_engine(settings.effective_database_url, hide_parameters=True,
                                   pool_size=settings.database_pool_size)
    sessions = session_factory(engine)
    vault = Vault(key_provider_for(settings), clock)
    audit.bind_mac_key(sessions, lambda: audit.mac_key(vault.keyring.index_key))
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        vault=vault,
        limiter=RateLimiter(settings.rate_limit_storage_uri),
        clock=clock,
        rulebook=load_rulebook(settings.rulebook_path),
        audit_chainer=Chainer(sessions, interval=settings.audit_chain_interval_seconds,
                              publisher=head_publisher(settings, vault, clock)),
        partner_limiter=PartnerLimiter(settings.rate_limit_storage_uri),
    )
