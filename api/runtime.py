"""What a running service holds: settings, the database, the vault, the rate limiter, the clock,
the audit chainer. Routes and pages read it from the app's state; the entry layer builds it
(entry/runtime.py), so api never chooses a key provider or an engine itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityid.clock import Clock
from cityid.gcra import PartnerLimiter
from cityid.ratelimit import Limit, RateLimiter
from cityid.settings import Settings
from enrollment.lookup import LookupGuard
from enrollment.rulebook import Rulebook
from enrollment.service import EnrollmentDesk, StatusCheckPolicy
from fees.service import FeeDesk
from holder.codes import HolderDesk
from idcard.audit_heads import CoseHeadSigning
from idcard.service import CardDesk
from privacy import anchor
from privacy.audit import Chainer
from privacy.vault import Vault
from redemption.ledger import LedgerDesk
from redemption.verification import NumberGuard
from staff.second_factor import default_rules as second_factor_rules
from staff.service import SignInPolicy


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
    def fees(self) -> FeeDesk:
        return FeeDesk(vault=self.vault, clock=self.clock)

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
    def reference_lookup_guard(self) -> LookupGuard:
        return LookupGuard(self.limiter, Limit("reference_lookup:staff",
                                               self.settings.reference_lookups_per_staff_per_hour,
                                               3600))

    @property
    def holder(self) -> HolderDesk:
        s = self.settings
        return HolderDesk(
            cards=self.cards, limiter=self.limiter,
            per_card=Limit("holder:code:card", s.holder_codes_per_card_per_hour, 3600),
            per_client=Limit("holder:code:client", s.holder_codes_per_client_per_hour, 3600),
            code_minutes=s.holder_code_minutes, code_attempts=s.holder_code_attempts,
            session_minutes=s.holder_session_minutes)

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
            per_account=Limit("login:account", s.login_max_attempts_per_account, 3600),
            known_client=Limit("login:known", 1, s.login_known_client_days * 86400),
            second_factor_roles=second_factor_rules().required_roles(
                for_all_staff=s.second_factor_for_all_staff),
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
