"""What a cardholder can see about their own card: which partners verified or redeemed it, and
when.

Only the holder may see it, and the holder proves who they are with a one-time code sent to the
contact on file (holder/codes.py): never with the card number, date of birth and issue number,
which are printed on the card or held in its QR code, so anyone who photographs a card has them.
The route answers a valid holder session with :func:`events_for`; without one, it refuses with
``holder_code_required``, and each such attempt is throttled per card and per client, and
audited."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cityid.errors import Throttled
from cityid.ratelimit import Limit, RateLimiter
from idcard import service as cards
from idcard.service import CardDesk
from partners import repository as partner_repository
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from redemption.errors import HolderCodeRequired, HolderHistoryThrottled
from redemption.schemas import HolderEvent

EVENTS = {"card.verified": "verified", "benefit.redeemed": "redeemed",
          "benefit.voided": "voided"}
REQUESTER = Actor("holder-history", "public")


def events_for(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> list[HolderEvent]:
    """The partners' verifications and redemptions of this resident's cards, oldest first. The
    caller has proved it is the holder (a holder session)."""
    entries = [e for e in audit.entries_about(session, vault.pseudonym("resident", resident_id))
               if e.action in EVENTS and e.actor.startswith("partner:")]
    partners = partner_repository.partners_by_id(
        session, {uuid.UUID(e.actor.removeprefix("partner:")) for e in entries})
    events = []
    for entry in entries:
        partner = partners.get(uuid.UUID(entry.actor.removeprefix("partner:")))
        events.append(HolderEvent(partner=partner.name if partner else "a former partner",
                                  partner_type=partner.type if partner else "unknown",
                                  event=EVENTS[entry.action], at=entry.at))
    return events


def holder_history(session: Session, *, desk: CardDesk, limiter: RateLimiter, limit: Limit,
                   client: str, card_number: str | None) -> HolderCodeRequired | Throttled:
    """The refusal for a request without a holder session, after counting the attempt against
    the card and the client and auditing it. Returned, not raised, so the caller answers it and
    the audit entry commits. No card is looked up: an answer that differed for a real card
    would tell what card data can't."""
    refusal: HolderCodeRequired | Throttled = HolderCodeRequired()
    try:
        if card_number is not None:
            limiter.consume(limit, f"card:{cards.number_index(desk, card_number)}",
                            HolderHistoryThrottled)
        limiter.consume(limit, f"client:{client}", HolderHistoryThrottled)
    except HolderHistoryThrottled as throttled:
        refusal = throttled
    audit.record(session, actor=REQUESTER, action="holder.history_refused", clock=desk.clock,
                 detail={"reason": refusal.code})
    return refusal
