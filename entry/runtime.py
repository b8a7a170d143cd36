"""The composition root: one place that turns settings into a running service, choosing the key
provider, the engine, the password hashing cost, the rulebook and the audit chainer. ``api``
reads the result (api/runtime.py's ``Runtime``) and never builds one itself."""

from __future__ import annotations

from sqlalchemy import Engine

from api.runtime import Runtime, head_publisher
from cityid.clock import Clock, system_clock
from cityid.db import make_engine, session_factory
from cityid.gcra import PartnerLimiter
from cityid.ratelimit import RateLimiter
from cityid.settings import Settings
from enrollment.rulebook import load_rulebook
from privacy import audit
from privacy.audit import Chainer
from privacy.key_providers import EnvKeyProvider, FileKeyProvider
from privacy.keyring import KeyProvider
from privacy.pkcs11 import Pkcs11KeyProvider, read_pin
from privacy.vault import Vault
from staff.service import configure_password_hashing


def token_provider_for(settings: Settings) -> Pkcs11KeyProvider:
    """The PKCS#11 token the settings name (CITYID_PKCS11_*), whatever the key provider is."""
    return Pkcs11KeyProvider(module=settings.pkcs11_module,
                             token_label=settings.pkcs11_token_label, slot=settings.pkcs11_slot,
                             pin=read_pin(settings.pkcs11_pin, settings.pkcs11_pin_file))


def key_provider_for(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        return EnvKeyProvider(settings.keyring)
    if settings.key_provider == "pkcs11":
        return token_provider_for(settings)
    return FileKeyProvider(settings.effective_keyring_path)


def build_runtime(settings: Settings, *, clock: Clock = system_clock,
                  engine: Engine | None = None) -> Runtime:
    configure_password_hashing(memory_kib=settings.argon2_memory_kib,
                               time_cost=settings.argon2_time_cost)
    engine = engine or make_engine(settings.effective_database_url, hide_parameters=True,
                                   pool_size=settings.database_pool_size)
    sessions = session_factory(engine)
    vault = Vault(key_provider_for(settings), clock)
    audit.bind_mac_key(sessions, lambda: audit.mac_key(vault))
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
