"""What a cardholder can see about their own card: which partners verified or redeemed it, and
when.

Only the holder may see it, and the holder proves who they are with a one-time code sent to the
contact on file: never with the card number, date of birth and issue number, which are printed on
the card or held in its QR code, so anyone who photographs a card has them. Until the one-time
code is delivered (the holder self-service issue), every request is refused with
``holder_code_required``; each attempt is throttled per card and per client, and audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityid.errors import Throttled
from cityid.ratelimit import Limit, RateLimiter
from idcard import service as cards
from idcard.service import CardDesk
from privacy import audit
from privacy.audit import Actor
from redemption.errors import HolderCodeRequired, HolderHistoryThrottled

EVENTS = {"card.verified": "verified", "benefit.redeemed": "redeemed",
          "benefit.voided": "voided"}
REQUESTER = Actor("holder-history", "public")


def holder_history(session: Session, *, desk: CardDesk, limiter: RateLimiter, limit: Limit,
                   client: str, card_number: str) -> HolderCodeRequired | Throttled:
    """The refusal, after counting the attempt against the card and the client and auditing
    it. Returned, not raised, so the caller answers it and the audit entry commits. No card is
    looked up: an answer that differed for a real card would tell what card data can't."""
    refusal: HolderCodeRequired | Throttled = HolderCodeRequired()
    try:
        limiter.consume(limit, f"card:{cards.number_index(desk, card_number)}",
                        HolderHistoryThrottled)
        limiter.consume(limit, f"client:{client}", HolderHistoryThrottled)
    except HolderHistoryThrottled as throttled:
        refusal = throttled
    audit.record(session, actor=REQUESTER, action="holder.history_refused", clock=desk.clock,
                 detail={"reason": refusal.code})
    return refusal
