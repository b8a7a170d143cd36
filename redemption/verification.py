"""Online verification of a card presented to a partner, and what the partner's policy lets it
see. Partners can only check a card put in front of them: there is no search."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from cityid.ratelimit import Limit, RateLimiter
from enrollment import residents
from idcard import repository as card_repository
from idcard import service as cards
from idcard.credential import public_jwks
from idcard.models import Card
from idcard.service import CardDesk
from idcard.states import CardStatus
from idcard.verifier import Reason, verify_credential
from partners.purposes import check_purpose, incident_hash
from partners.service import PartnerAccess, profiles
from privacy import audit
from privacy.vault import DECOY_OWNER
from redemption.disclosure import StoredCard, check_profiles, disclose_from
from redemption.errors import CardNotRecognised, VerifyThrottled
from redemption.schemas import CardPresented, VerifyIn, VerifyOut

# policies.yaml is checked against the attribute readers when the program loads, not at the
# first verification by a partner of the odd type.
check_profiles(profiles())

# Compared when the number is unknown, so that path compares too; no claimed date can make an
# unknown number pass, because the card is still missing.
DECOY_BIRTH_DATE = date(1, 1, 1)


@dataclass(frozen=True)
class NumberGuard:
    """Verification by card number and date of birth, throttled per card number: a partner
    that holds a number can't guess its holder's date of birth at the partner rate (1,200 a
    minute). Every attempt counts, before the work, so concurrent guesses can't overshoot."""

    limiter: RateLimiter
    per_card: Limit


@dataclass(frozen=True)
class PresentedCard:
    """The outcome of checking a presented card: one reason, and the card when it is known."""

    reason: str
    card: Card | None

    @property
    def valid(self) -> bool:
        return self.reason == Reason.OK.value


_jwks_cache: dict[tuple[str, ...], dict[str, Any]] = {}


def _jwks(desk: CardDesk) -> dict[str, Any]:
    # Online, every key this installation ever signed with is trusted; build the set once per
    # key ring rather than per request.
    keys = desk.vault.signing_keys()
    ident = tuple(k.kid for k in keys)
    if ident not in _jwks_cache:
        _jwks_cache.clear()
        _jwks_cache[ident] = public_jwks(keys)
    return _jwks_cache[ident]


# What a partner is told of a card in each state.
LIVE_REASONS = {CardStatus.ACTIVE: Reason.OK, CardStatus.SUSPENDED: Reason.SUSPENDED,
                CardStatus.REVOKED: Reason.REVOKED, CardStatus.EXPIRED: Reason.EXPIRED}


def _live_reason(card: Card, today: date) -> str:
    return LIVE_REASONS[cards.effective_status(card, today)].value


def _by_number(session: Session, desk: CardDesk, guard: NumberGuard, card_number: str,
               date_of_birth: date) -> Card:
    """An unknown number and a wrong date of birth are one answer, after the same work: the
    unknown path reads, unwraps and decrypts a decoy where the other reads the holder's."""
    index = cards.number_index(desk, card_number)
    guard.limiter.consume(guard.per_card, index, VerifyThrottled)
    issues = card_repository.by_number(session, index)
    card = issues[0] if issues else None  # the latest issue is the one that counts
    resident_id = card.resident_id if card is not None else DECOY_OWNER
    born = residents.read_birth_date(session, vault=desk.vault, resident_id=resident_id)
    subject = desk.vault.pseudonym("resident", resident_id)
    matches = hmac.compare_digest((born or DECOY_BIRTH_DATE).isoformat(),
                                  date_of_birth.isoformat())
    if card is None or born is None or not matches:
        raise CardNotRecognised(subject=subject if card is not None else None)
    return card


def check_presented(session: Session, *, desk: CardDesk, guard: NumberGuard,
                    presented: CardPresented, now: datetime) -> PresentedCard:
    """Signature, key and time from the QR, then the card's live status from the database
    (online, the database is fresher than any status list). By number, the date of birth must
    match, and the number is throttled."""
    if presented.qr is not None:
        verdict = verify_credential(presented.qr.strip(), jwks=_jwks(desk), status=None, now=now,
                                    verifier_keys=cards.verifier_keys(desk))
        # With no list, a credential whose signature and dates are good stops at
        # status_list_stale: the live status below takes the list's place.
        if verdict.reason is not Reason.STATUS_LIST_STALE or verdict.fields is None:
            return PresentedCard(verdict.reason.value, None)
        index = cards.number_index(desk, verdict.fields.card_number)
        card = next((c for c in card_repository.by_number(session, index)
                     if c.issue_number == verdict.fields.issue_number), None)
        if card is None:  # signed by us, but no longer on record: treat as revoked
            return PresentedCard(Reason.REVOKED.value, None)
        return PresentedCard(_live_reason(card, now.date()), card)
    assert presented.card_number is not None and presented.date_of_birth is not None
    card = _by_number(session, desk, guard, presented.card_number, presented.date_of_birth)
    return PresentedCard(_live_reason(card, now.date()), card)


def record_failed_attempt(session: Session, *, desk: CardDesk, partner: PartnerAccess,
                          purpose: str | None,
                          refused: CardNotRecognised | VerifyThrottled) -> None:
    """A check by number that did not match, or was throttled, is audited with codes only.
    The caller answers the refusal rather than raising it, so this entry commits."""
    subject = refused.subject if isinstance(refused, CardNotRecognised) else None
    audit.record(session, actor=partner.actor, action="card.verify_failed", subject=subject,
                 purpose=purpose, clock=desk.clock,
                 detail={"reason": refused.code, "via": partner.operator, "by": "number"})


def disclose(session: Session, *, desk: CardDesk, partner: PartnerAccess,
             card: Card) -> dict[str, Any]:
    """Only the attributes the partner's policy names, and only for a valid card."""
    return disclose_from(StoredCard(session, desk, partner.partner_id, card), partner.attributes)


def verify(session: Session, *, desk: CardDesk, guard: NumberGuard, partner: PartnerAccess,
           request: VerifyIn) -> VerifyOut:
    partner.require("verify")
    check_purpose(partner.type, request.purpose, request.incident_reference)
    now = desk.clock.now()
    try:
        checked = check_presented(session, desk=desk, guard=guard, presented=request, now=now)
    except (CardNotRecognised, VerifyThrottled) as refused:
        record_failed_attempt(session, desk=desk, partner=partner, purpose=request.purpose,
                              refused=refused)
        raise
    disclosed = (disclose(session, desk=desk, partner=partner, card=checked.card)
                 if checked.valid and checked.card is not None else {})
    subject = (desk.vault.pseudonym("resident", checked.card.resident_id)
               if checked.card is not None else None)
    detail: dict[str, audit.DetailValue] = {
        "reason": checked.reason, "disclosed": ".".join(sorted(disclosed))[:64] or "nothing",
        "via": partner.operator, "by": "qr" if request.qr is not None else "number"}
    if request.incident_reference is not None:
        detail["incident"] = incident_hash(desk.vault, request.incident_reference)
    audit.record(session, actor=partner.actor, action="card.verified", subject=subject,
                 purpose=request.purpose, clock=desk.clock, detail=detail)
    return VerifyOut(result="valid" if checked.valid else "invalid", reason=checked.reason,
                     disclosed=disclosed)


def verifications_for_incident(session: Session, *, desk: CardDesk,
                               reference: str) -> list[audit.Entry]:
    """For a lawful request naming a case number: the checks made under it. The reference is
    hashed the way it was when recorded; nothing stored can be read back as the number."""
    return audit.entries_with_detail(session, action="card.verified", key="incident",
                                     value=incident_hash(desk.vault, reference))
