"""Partners and their disclosure policies: who a partner is, and what its policy lets it do
and see. Its API keys are in ``partners.keys``."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.db import name_key
from partners import repository
from partners.errors import (
    OperationNotAllowed,
    PartnerNameTaken,
    PartnerNotFound,
    PolicyTooWide,
)
from partners.models import Partner
from partners.purposes import rule_for
from partners.schemas import PartnerCreate, PartnerOut, PartnerUpdate, Policy
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from privacy.vault import Vault


@lru_cache(maxsize=1)
def profiles() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(resources.files("partners").joinpath("policies.yaml").read_text())
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


def find_partner(session: Session, partner_id: uuid.UUID) -> Partner:
    """The partner row, or PartnerNotFound: for the services that build on partners."""
    partner = repository.get_partner(session, partner_id)
    if partner is None:
        raise PartnerNotFound()
    return partner


def get_partner(session: Session, *, partner_id: uuid.UUID) -> PartnerOut:
    return _out(find_partner(session, partner_id))


def list_partners(session: Session) -> list[PartnerOut]:
    return [_out(p) for p in repository.list_partners(session)]


def update_partner(session: Session, *, actor: Actor, clock: Clock, partner_id: uuid.UUID,
                   data: PartnerUpdate) -> PartnerOut:
    partner = find_partner(session, partner_id)
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
