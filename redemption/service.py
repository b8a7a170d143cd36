"""Partners, their disclosure policies and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.db import name_key
from idcard import service as cards
from idcard.service import CardDesk
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from privacy.vault import Vault
from redemption import repository
from redemption.errors import (
    KeyExpired,
    KeyNotFound,
    KeyRevoked,
    NotAnOfflineVerifier,
    OperationNotAllowed,
    PartnerInactive,
    PartnerNameTaken,
    PartnerNotFound,
    PolicyTooWide,
    UnknownKey,
)
from redemption.models import Partner, PartnerKey
from redemption.purposes import rule_for
from redemption.schemas import (
    KeyCreate,
    KeyOut,
    NewKeyOut,
    PartnerCreate,
    PartnerOut,
    PartnerUpdate,
    Policy,
)

KEY_PREFIX = "cpk_"
TOUCH_EVERY = timedelta(seconds=60)


@lru_cache(maxsize=1)
def profiles() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(resources.files("redemption").joinpath("policies.yaml").read_text())
    return dict(data["types"])


@dataclass(frozen=True)
class PartnerAccess:
    """A signed-in partner: who it is and what its policy lets it do and see."""

    partner_id: uuid.UUID
    name: str
    type: str
    operations: frozenset[str]
    attributes: frozenset[str]
    purpose_required: bool
    key_id: uuid.UUID | None
    staff_id: uuid.UUID | None = None  # one of the partner's own staff, at its web desk
    purposes: tuple[str, ...] = ()  # the purpose codes its type may give (purposes.yaml)
    takes_incident_reference: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(f"partner:{self.partner_id}", f"partner-{self.type}")

    @property
    def operator(self) -> str:
        """Who at the partner acted: an API key or a desk account. Audited with every
        verification and redemption, so an officer's lookup can be traced to the officer."""
        if self.staff_id is not None:
            return f"staff:{self.staff_id}"
        return f"key:{self.key_id}" if self.key_id is not None else "unknown"

    def require(self, operation: str) -> None:
        if operation not in self.operations:
            raise OperationNotAllowed(f"This partner's policy does not allow '{operation}'.")


def effective_policy(partner: Partner) -> Policy:
    profile = profiles()[partner.type]
    if partner.policy is None:
        return Policy(operations=profile["operations"], attributes=profile["attributes"])
    return Policy.model_validate(partner.policy)


def _check_narrower(partner_type: str, policy: Policy) -> None:
    profile = profiles()[partner_type]
    wider_ops = set(policy.operations) - set(profile["operations"])
    wider_attrs = set(policy.attributes) - set(profile["attributes"])
    if wider_ops or wider_attrs:
        raise PolicyTooWide("Not in this partner type's profile: "
                            f"{', '.join(sorted(wider_ops | wider_attrs))}.")
    if "validity" not in policy.attributes:
        raise PolicyTooWide("Every partner sees whether a card is valid.")


def access_of(partner: Partner, key_id: uuid.UUID | None = None,
              staff_id: uuid.UUID | None = None) -> PartnerAccess:
    policy = effective_policy(partner)
    purposes = rule_for(partner.type)
    return PartnerAccess(partner_id=partner.id, name=partner.name, type=partner.type,
                         operations=frozenset(policy.operations),
                         attributes=frozenset(policy.attributes),
                         purpose_required=purposes.required, key_id=key_id, staff_id=staff_id,
                         purposes=purposes.codes,
                         takes_incident_reference=purposes.incident_reference)


def holder_token(vault: Vault, partner_id: uuid.UUID, resident_id: uuid.UUID) -> str:
    """HMAC(partner secret, resident id). The partner secret is derived from the index key, so
    it lives outside the database; two partners' tokens for one person can't be linked."""
    secret = bytes.fromhex(vault.blind_index("partner-holder-secret", str(partner_id)))
    digest = hmac.new(secret, resident_id.bytes, hashlib.sha256).hexdigest()
    return f"h_{digest[:32]}"


def _out(partner: Partner) -> PartnerOut:
    return PartnerOut(id=partner.id, name=partner.name, type=partner.type,
                      active=partner.active, policy=effective_policy(partner),
                      purpose_required=rule_for(partner.type).required,
                      purposes=list(rule_for(partner.type).codes),
                      created_at=partner.created_at)


def create_partner(session: Session, *, actor: Actor, clock: Clock,
                   data: PartnerCreate) -> PartnerOut:
    refuse_immigration_terms("name", data.name)
    if repository.partner_by_name(session, data.name) is not None:
        raise PartnerNameTaken()
    if data.policy is not None:
        _check_narrower(data.type, data.policy)
    partner = Partner(id=uuid.uuid4(), name=data.name, name_key=name_key(data.name),
                      type=data.type, active=True,
                      policy=data.policy.model_dump() if data.policy else None,
                      created_at=clock.now())
    repository.add(session, partner)
    audit.record(session, actor=actor, action="partner.created", subject=f"partner:{partner.id}",
                 clock=clock, detail={"type": data.type})
    return _out(partner)


def _partner(session: Session, partner_id: uuid.UUID) -> Partner:
    partner = repository.get_partner(session, partner_id)
    if partner is None:
        raise PartnerNotFound()
    return partner


def get_partner(session: Session, *, partner_id: uuid.UUID) -> PartnerOut:
    return _out(_partner(session, partner_id))


def list_partners(session: Session) -> list[PartnerOut]:
    return [_out(p) for p in repository.list_partners(session)]


def update_partner(session: Session, *, actor: Actor, clock: Clock, partner_id: uuid.UUID,
                   data: PartnerUpdate) -> PartnerOut:
    partner = _partner(session, partner_id)
    if data.policy is not None:
        _check_narrower(partner.type, data.policy)
        partner.policy = data.policy.model_dump()
    if data.active is not None:
        partner.active = data.active
    session.flush()
    audit.record(session, actor=actor, action="partner.updated", subject=f"partner:{partner.id}",
                 clock=clock, detail={"active": partner.active,
                                      "narrowed": partner.policy is not None})
    return _out(partner)


def export_verifier_keys(session: Session, *, desk: CardDesk, actor: Actor,
                         partner_id: uuid.UUID) -> dict[str, list[dict[str, str]]]:
    """The QR verifier keys for a partner whose type verifies cards offline (its profile says
    ``offline_verifier``). Whoever holds them reads every sealed QR, hence admin-only and
    audited in ``idcard``."""
    partner = _partner(session, partner_id)
    if not partner.active:
        raise PartnerInactive()
    if not profiles()[partner.type].get("offline_verifier"):
        raise NotAnOfflineVerifier()
    return cards.export_verifier_keys(session, desk=desk, actor=actor,
                                      recipient=f"partner:{partner.id}")


def _key_out(key: PartnerKey) -> KeyOut:
    return KeyOut(id=key.id, prefix=key.prefix, label=key.label, created_at=key.created_at,
                  expires_at=key.expires_at, last_used_at=key.last_used_at,
                  revoked_at=key.revoked_at)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, actor: Actor, clock: Clock, partner_id: uuid.UUID,
               data: KeyCreate) -> NewKeyOut:
    partner = _partner(session, partner_id)
    refuse_immigration_terms("label", data.label)
    prefix = KEY_PREFIX + secrets.token_hex(4)
    value = f"{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    key = PartnerKey(id=uuid.uuid4(), partner_id=partner.id, prefix=prefix, key_hash=_hash(value),
                     label=data.label, created_at=now,
                     expires_at=now + timedelta(days=data.expires_in_days))
    repository.add(session, key)
    audit.record(session, actor=actor, action="partner.key_created",
                 subject=f"partner:{partner.id}", clock=clock, detail={"prefix": prefix})
    return NewKeyOut(**_key_out(key).model_dump(), key=value)


def list_keys(session: Session, *, partner_id: uuid.UUID) -> list[KeyOut]:
    _partner(session, partner_id)
    return [_key_out(k) for k in repository.keys_of(session, partner_id)]


def revoke_key(session: Session, *, actor: Actor, clock: Clock, partner_id: uuid.UUID,
               key_id: uuid.UUID) -> KeyOut:
    key = repository.get_key(session, partner_id, key_id)
    if key is None:
        raise KeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.flush()
        audit.record(session, actor=actor, action="partner.key_revoked",
                     subject=f"partner:{partner_id}", clock=clock, detail={"prefix": key.prefix})
    return _key_out(key)


def is_partner_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)


def authenticate_key(session: Session, value: str, *, clock: Clock) -> PartnerAccess:
    """The partner behind an API key. Each way a key can fail has its own code."""
    found = repository.key_with_partner(session, _hash(value))
    if found is None:
        raise UnknownKey()
    key, partner = found
    now = clock.now()
    if key.revoked_at is not None:
        raise KeyRevoked()
    if key.expires_at <= now:
        raise KeyExpired()
    if not partner.active:
        raise PartnerInactive()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now
    return access_of(partner, key.id)
