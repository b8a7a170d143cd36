"""Redemption's one service across partners and cards: the offline verifier key export.
Partners, their policies and their API keys are the ``partners`` package."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from idcard import service as cards
from idcard.service import CardDesk
from partners import service as partners
from partners.errors import PartnerInactive
from privacy.audit import Actor
from redemption.errors import NotAnOfflineVerifier
from staff import ceremony


def export_verifier_keys(session: Session, *, desk: CardDesk, actor: Actor,
                         partner_id: uuid.UUID) -> dict[str, list[dict[str, str]]]:
    """The QR verifier keys for a partner whose type verifies cards offline (its profile says
    ``offline_verifier``). Whoever holds them reads every sealed QR, hence admin-only and
    audited in ``idcard``."""
    partner = partners.find_partner(session, partner_id)
    if not partner.active:
        raise PartnerInactive()
    if not partners.profiles()[partner.type].get("offline_verifier"):
        raise NotAnOfflineVerifier()
    return cards.export_verifier_keys(session, desk=desk, actor=actor,
                                      recipient=f"partner:{partner.id}")


def export_verifier_keys_under_ceremony(session: Session, *, desk: CardDesk, actor: Actor,
                                        partner_id: uuid.UUID, ceremony_id: uuid.UUID | None,
                                        clock: Clock = system_clock
                                        ) -> dict[str, list[dict[str, str]]]:
    """The verifier-key export, behind a key ceremony (``staff.ceremony``). The partner's own
    checks answer first (a partner not entitled is refused as such); a refused ceremony rolls
    the export and its audit entry back with the request's transaction."""
    jwks = export_verifier_keys(session, desk=desk, actor=actor, partner_id=partner_id)
    ceremony.use(session, actor=actor, ceremony_id=ceremony_id, kind="verifier_export",
                 recipient_id=partner_id, clock=clock)
    return jwks
