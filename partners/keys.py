"""A partner's API keys: made, listed, revoked, and the partner behind a key found."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from cityid.clock import Clock
from partners import repository
from partners.errors import KeyExpired, KeyNotFound, KeyRevoked, PartnerInactive, UnknownKey
from partners.models import PartnerKey
from partners.schemas import KeyCreate, KeyOut, NewKeyOut
from partners.service import PartnerAccess, access_of, find_partner
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms

KEY_PREFIX = "cpk_"
TOUCH_EVERY = timedelta(seconds=60)


def _key_out(key: PartnerKey) -> KeyOut:
    return KeyOut(id=key.id, prefix=key.prefix, label=key.label, created_at=key.created_at,
                  expires_at=key.expires_at, last_used_at=key.last_used_at,
                  revoked_at=key.revoked_at)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, actor: Actor, clock: Clock, partner_id: uuid.UUID,
               data: KeyCreate) -> NewKeyOut:
    partner = find_partner(session, partner_id)
    refuse_immigration_terms("label", data.label)
    prefix = KEY_PREFIX + secrets.token_hex(4)
    value = f"{prefix}_{secrets.token_urlsafe(32)}"
    now = clock.now()
    key = PartnerKey(id=uuid.uuid4(), partner_id=partner.id, prefix=prefix,
                     key_hash=key_hash(value), label=data.label, created_at=now,
                     expires_at=now + timedelta(days=data.expires_in_days))
    repository.add(session, key)
    audit.record(session, actor=actor, action="partner.key_created",
                 subject=f"partner:{partner.id}", clock=clock, detail={"prefix": prefix})
    return NewKeyOut(**_key_out(key).model_dump(), key=value)


def list_keys(session: Session, *, partner_id: uuid.UUID) -> list[KeyOut]:
    find_partner(session, partner_id)
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
    found = repository.key_with_partner(session, key_hash(value))
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
