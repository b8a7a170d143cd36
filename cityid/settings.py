"""Settings, read from the environment with the prefix ``CITYID_``.

Development (the embedded default) works with no configuration at all. Outside development the
settings refuse weak or default secrets, so a production deployment cannot start half-configured.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

WEAK_PASSWORDS = frozenset(
    {"", "postgres", "password", "changeme", "change-me", "secret", "cityid", "admin", "example"}
)
MIN_SECRET_LENGTH = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYID_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # Key material lives outside the database: a 0600 file made on first run, the environment,
    # or a PKCS#11 token (an HSM; SoftHSM2 in the tests) that keeps every key inside it.
    key_provider: Literal["file", "env", "pkcs11"] = "file"
    # Default: keys/keyring.json beside the data folder, never inside it, so a copy of the data
    # folder (a backup) does not carry the keys that open it.
    keyring_path: Path | None = None
    keyring: str = Field(default="", repr=False)
    # The PKCS#11 token (privacy/pkcs11.py): the module (Debian's softhsm2 by default; an HSM
    # vendor's library in production), the token by label or slot id, and the user PIN, from
    # the environment or, better, a file holding it (a mounted secret).
    pkcs11_module: Path = Path("/usr/lib/softhsm/libsofthsm2.so")
    pkcs11_token_label: str = "cityid"  # noqa: S105 - a token's name, not a secret
    pkcs11_slot: int | None = None
    pkcs11_pin: str = Field(default="", repr=False)
    pkcs11_pin_file: Path | None = None
    # Key epochs (privacy/epochs.py): a new KEK every epoch; database backups are kept at most
    # this long, and the old KEK is destroyed when the last backup that needs it has expired.
    key_epoch_days: int = Field(default=30, ge=1, le=366)
    backup_retention_days: int = Field(default=30, ge=0, le=366)

    # How often each API process links waiting audit entries into the hash chain. An entry is
    # durable from its request's commit; until chained, an edit or deletion would go unnoticed.
    audit_chain_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    # How often the chain's head is signed and published (audit_heads, /.well-known/cityid/
    # audit-head): entries chained since the last published head are covered by the hashes only.
    audit_anchor_interval_seconds: float = Field(default=60, gt=0, le=24 * 3600)

    issuer: str = "https://id.city.example"
    token_ttl_minutes: int = Field(default=480, ge=5, le=24 * 60)
    web_idle_minutes: int = Field(default=30, ge=1, le=8 * 60)
    # Browser cookies are Secure; set false only for plain-HTTP development on localhost.
    cookie_secure: bool = True
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=10)
    login_max_failures_per_client: int = Field(default=30, ge=1)
    # Sign-in attempts of one account from all its unfamiliar clients together, per hour: slow
    # enough to stop a spread-out guesser, and never applied to a client that signed the
    # account in within ``login_known_client_days`` (staff/credentials.py).
    login_max_attempts_per_account: int = Field(default=100, ge=1)
    login_known_client_days: int = Field(default=30, ge=1)
    # Clerks and partner accounts must use a second factor too (staff/second_factor.yaml).
    second_factor_for_all_staff: bool = False
    # A request holds its database connection (and, on SQLite, the write lock) between its
    # dependency thread and its endpoint thread. With more threads than requests in flight, a
    # holder always finds a thread and can finish; each process answers requests beyond this
    # many in progress with 503 `overloaded` (requests, not sockets: an idle one holds nothing).
    worker_threads: int = Field(default=128, ge=8, le=1024)
    max_requests_in_flight: int = Field(default=96, ge=4, le=1000)
    # Addresses or networks of the reverse proxies whose X-Forwarded-For names the client,
    # comma-separated. Empty: the header is ignored, and every throttle counts the peer address.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # PostgreSQL connections per process, all kept open. Requests beyond it wait for one; an
    # overflow connection would be opened and closed per request under load, and a new
    # PostgreSQL backend costs more than the request. Processes x this must fit max_connections.
    database_pool_size: int = Field(default=16, ge=2, le=200)
    # The lean route for QR verification on PostgreSQL (api/lean.py); off, every verification
    # takes the normal route.
    hot_path: bool = True
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    redis_url: str = ""
    rulebook_path: Path | None = None
    retention_path: Path | None = None
    # ZIP code to district mapping for impact reports (read by oversight/impact/districts.py).
    districts_path: Path | None = None
    issuer_name: str = "City ID"
    # Seal card QRs (Claim 169's COSE_Encrypt0 under the verifier key), so a generic QR app
    # reads nothing; false issues plain signed QRs that any Claim 169 reader can show.
    qr_sealed: bool = True
    status_list_ttl_hours: int = Field(default=24, ge=1, le=24 * 14)
    # Bits in the status list: keep it at least twice the number of cards ever issued, so a
    # random free index is found quickly and one card still hides among many.
    status_list_size: int = Field(default=131_072, ge=131_072, le=1 << 24)
    # The status check: failed checks (a wrong date of birth) per reference, any checks per
    # client, and successful checks per reference (an applicant looking again is no attack).
    status_checks_per_reference: int = Field(default=5, ge=1)
    status_successes_per_reference: int = Field(default=20, ge=1)
    status_checks_per_client: int = Field(default=30, ge=1)
    status_check_window_seconds: int = Field(default=900, ge=10)
    max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=10 * 1024)
    city_timezone: str = "America/New_York"
    redemption_void_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # The partner desk's result (verdict, benefits, receipt) leaves the screen after this long,
    # so the next person in line does not see it (DCC verifier apps clear after about 2 min).
    partner_desk_clear_seconds: int = Field(default=120, ge=10, le=3600)
    partner_requests_per_minute: int = Field(default=1200, ge=1)
    partner_requests_per_minute_per_client: int = Field(default=2400, ge=1)
    holder_history_per_hour: int = Field(default=10, ge=1)
    # Lost references found at the desk from a name and date of birth, per staff account: a
    # clerk helps a few applicants an hour, a script trying names would need thousands.
    reference_lookups_per_staff_per_hour: int = Field(default=30, ge=1)
    # Checks of one card number by number and date of birth, from all partners together.
    verify_by_number_per_card_per_hour: int = Field(default=10, ge=1)
    # Holder self-service (holder/): one-time codes to the contact on file, valid for minutes,
    # throttled per card and per client; a code is exchanged for a short holder session.
    holder_code_minutes: int = Field(default=10, ge=1, le=60)
    holder_code_attempts: int = Field(default=5, ge=1, le=20)
    holder_codes_per_card_per_hour: int = Field(default=5, ge=1)
    holder_codes_per_client_per_hour: int = Field(default=20, ge=1)
    holder_session_minutes: int = Field(default=15, ge=1, le=120)
    # Notifications (notifications/): e-mail by SMTP. With no SMTP host, development writes
    # e-mail and text messages to var/outbox-sink.jsonl; the worker refuses that in production.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "City ID <no-reply@id.city.example>"
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_starttls: bool = False
    sms_provider: Literal["file"] = "file"
    argon2_memory_kib: int = Field(default=65536, ge=1024)
    argon2_time_cost: int = Field(default=3, ge=1)
    # The bearer token a metrics scraper presents on /metrics; with none set, /metrics is 404.
    metrics_token: str = Field(default="", repr=False)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item for item in (part.strip() for part in value.split(",")) if item]
        if isinstance(value, list):
            # A bad entry refuses to start rather than trusting nothing (or, with "*", anyone).
            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cityid.db').as_posix()}"

    @property
    def legacy_keyring_path(self) -> Path:
        """Where the keyring used to be made, inside the data folder."""
        return self.data_dir / "keyring.json"

    @property
    def default_keyring_path(self) -> Path:
        return self.data_dir.parent / "keys" / "keyring.json"

    @property
    def effective_keyring_path(self) -> Path:
        if self.keyring_path:
            return self.keyring_path
        # An installation made before the keyring moved keeps working where its keyring is.
        if not self.default_keyring_path.exists() and self.legacy_keyring_path.exists():
            return self.legacy_keyring_path
        return self.default_keyring_path

    @property
    def rate_limit_storage_uri(self) -> str:
        return self.redis_url or "memory://"

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.max_requests_in_flight >= self.worker_threads:
            raise ValueError("CITYID_MAX_REQUESTS_IN_FLIGHT must be below CITYID_WORKER_THREADS")
        if self.backup_retention_days > self.key_epoch_days:
            raise ValueError("CITYID_BACKUP_RETENTION_DAYS must not exceed CITYID_KEY_EPOCH_DAYS: "
                             "a backup kept longer than one key epoch outlives the shredding")
        if self.env == "development":
            return self
        url = make_url(self.effective_database_url)
        if url.get_backend_name() == "postgresql":
            password = url.password or ""
            if password.lower() in WEAK_PASSWORDS or len(password) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "CITYID_DATABASE_URL has a weak or default password; outside development it "
                    f"must be at least {MIN_SECRET_LENGTH} characters and not a well-known default"
                )
        if self.env == "production" and url.get_backend_name() == "sqlite":
            raise ValueError("production needs PostgreSQL: set CITYID_DATABASE_URL")
        if self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2:
            raise ValueError("argon2id cost below OWASP's minimum (19 MiB, 2 passes) is only "
                             "allowed in development")
        if self.key_provider == "env" and not self.keyring:
            raise ValueError("CITYID_KEY_PROVIDER=env needs CITYID_KEYRING "
                             "(see `cityid keys init`)")
        if self.key_provider == "pkcs11" and not (self.pkcs11_pin or self.pkcs11_pin_file):
            raise ValueError("CITYID_KEY_PROVIDER=pkcs11 needs CITYID_PKCS11_PIN_FILE or "
                             "CITYID_PKCS11_PIN")
        if self.metrics_token and len(self.metrics_token) < MIN_SECRET_LENGTH:
            raise ValueError(f"CITYID_METRICS_TOKEN must be at least {MIN_SECRET_LENGTH} "
                             "characters outside development")
        if self.redis_url:
            redis_password = urlsplit(self.redis_url).password
            if redis_password is not None and redis_password.lower() in WEAK_PASSWORDS:
                raise ValueError("CITYID_REDIS_URL has a weak or default password")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
