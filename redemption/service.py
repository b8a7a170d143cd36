"""Redemption's one service across partners and cards: the offline verifier key export.
Partners, their policies and their API keys are the ``partners`` package."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from idcard import service as cards
from idcard.service import CardDesk
from partners import service as partners
from partners.errors import PartnerInactive
from privacy.audit import Actor
from redemption.errors import NotAnOfflineVerifier


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
