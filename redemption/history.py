"""What a cardholder can see about their own card: which partners verified or redeemed it, and
when. The holder proves possession with the card number, date of birth and issue number."""

from __future__ import annotations

import hmac
import uuid
from datetime import date

from sqlalchemy.orm import Session

from cityid.ratelimit import Limit, RateLimiter
from enrollment import service as enrollment
from idcard import repository as card_repository
from idcard import service as cards
from idcard.service import CardDesk
from privacy import audit
from redemption import repository
from redemption.errors import HolderNotRecognised, PartnerThrottled
from redemption.schemas import HolderEvent

EVENTS = {"card.verified": "verified", "benefit.redeemed": "redeemed",
          "benefit.voided": "voided"}


def holder_history(session: Session, *, desk: CardDesk, limiter: RateLimiter, limit: Limit,
                   client: str, card_number: str, date_of_birth: date,
                   issue_number: int) -> list[HolderEvent]:
    index = cards.number_index(desk, card_number)
    for key in (index, client):
        limiter.consume(limit, key, PartnerThrottled)
    card = next((c for c in card_repository.by_number(session, index)
                 if c.issue_number == issue_number), None)
    if card is None:
        raise HolderNotRecognised()
    holder = enrollment.read_holder(session, vault=desk.vault, resident_id=card.resident_id)
    if not hmac.compare_digest(holder.date_of_birth.isoformat(), date_of_birth.isoformat()):
        raise HolderNotRecognised()
    subject = desk.vault.pseudonym("resident", card.resident_id)
    entries = [e for e in audit.entries_about(session, subject)
               if e.action in EVENTS and e.actor.startswith("partner:")]
    partners = repository.partners_by_id(
        session, {uuid.UUID(e.actor.removeprefix("partner:")) for e in entries})
    events = []
    for entry in entries:
        partner = partners.get(uuid.UUID(entry.actor.removeprefix("partner:")))
        events.append(HolderEvent(partner=partner.name if partner else "a former partner",
                                  partner_type=partner.type if partner else "unknown",
                                  event=EVENTS[entry.action],
                                  at=entry.at))
    return events
