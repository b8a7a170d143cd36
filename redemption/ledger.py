"""Redemption: the ledger row that makes a benefit happen exactly once.

Three things hold the limit under any concurrency, retry or crash: every redemption of one
benefit by one holder first locks their (benefit, holder) row; the ledger has a unique index on
(benefit, holder, period, slot) among rows not voided; and the partner's Idempotency-Key is
unique, so a retried request finds its first answer instead of redeeming again. The key is a
string the partner chose, so it is stored only as a keyed hash: matched, never read.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idcard.service import CardDesk
from partners.service import PartnerAccess, holder_token
from privacy import audit
from redemption import benefits as catalogue
from redemption import limits, repository
from redemption.errors import (
    AlreadyRedeemed,
    AlreadyVoided,
    BenefitNotActive,
    BenefitNotFound,
    CardNotRecognised,
    CardRefused,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    RedemptionNotFound,
    VerifyThrottled,
    VoidWindowClosed,
)
from redemption.limits import SessionLedger
from redemption.models import Benefit, Redemption
from redemption.schemas import (
    CardPresented,
    HolderBenefitState,
    ReceiptOut,
    RedemptionIn,
    VoidIn,
)
from redemption.verification import NumberGuard, check_presented, record_failed_attempt

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class LedgerDesk:
    cards: CardDesk
    zone: ZoneInfo
    void_window: timedelta
    guard: NumberGuard


def _refusal(reason: str) -> type[CardRefused]:
    """card_revoked, card_suspended, card_expired, ...: the refusal names the reason."""
    return type(f"Card{reason.title().replace('_', '')}", (CardRefused,),
                {"code": f"card_{reason}"})


def request_hash_of(request: RedemptionIn) -> str:
    body = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def new_receipt_number() -> str:
    return "R-" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


def _receipt(desk: LedgerDesk, partner: PartnerAccess, redemption: Redemption,
             benefit: Benefit, session: Session) -> ReceiptOut:
    live = catalogue.counted(session, benefit, redemption.resident_id,
                             catalogue.period_at(benefit, redemption.redeemed_at, desk.zone))
    return ReceiptOut(
        id=redemption.id, receipt_number=redemption.receipt_number, benefit_id=benefit.id,
        benefit_name=benefit.name,
        holder_token=holder_token(desk.cards.vault, partner.partner_id, redemption.resident_id),
        redeemed_at=redemption.redeemed_at,
        member_until=catalogue.member_until(benefit, live or [redemption], desk.zone),
        voided_at=redemption.voided_at)


def idempotency_hash(desk: LedgerDesk, partner: PartnerAccess, key: str) -> str:
    """What the ledger keeps of an Idempotency-Key: a keyed hash, per partner."""
    return desk.cards.vault.keyed_hash("idempotency-key", f"{partner.partner_id}|{key}")


def _replay(session: Session, desk: LedgerDesk, partner: PartnerAccess, key: str,
            request_hash: str) -> ReceiptOut | None:
    earlier = repository.redemption_by_key(session, partner.partner_id, key)
    if earlier is None:
        return None
    if earlier.request_hash != request_hash:
        raise IdempotencyConflict()
    benefit = repository.get_benefit(session, earlier.benefit_id)
    assert benefit is not None
    return _receipt(desk, partner, earlier, benefit, session)


def redeem(session: Session, *, desk: LedgerDesk, partner: PartnerAccess,
           idempotency_key: str | None, request: RedemptionIn) -> ReceiptOut:
    partner.require("redeem")
    if idempotency_key is None or not IDEMPOTENCY_KEY.match(idempotency_key):
        raise IdempotencyKeyRequired()
    request_hash = request_hash_of(request)
    key = idempotency_hash(desk, partner, idempotency_key)
    replayed = _replay(session, desk, partner, key, request_hash)
    if replayed is not None:
        return replayed

    benefit = repository.get_benefit(session, request.benefit_id)
    if benefit is None or benefit.partner_id != partner.partner_id:
        raise BenefitNotFound()
    now = desk.cards.clock.now()
    if not catalogue.active_on(benefit, now.astimezone(desk.zone).date()):
        raise BenefitNotActive()
    try:
        checked = check_presented(session, desk=desk.cards, guard=desk.guard,
                                  presented=request, now=now)
    except (CardNotRecognised, VerifyThrottled) as refused:
        record_failed_attempt(session, desk=desk.cards, partner=partner, purpose=None,
                              refused=refused)
        raise
    if not checked.valid or checked.card is None:
        raise _refusal(checked.reason)(checked.reason)
    resident_id = checked.card.resident_id

    repository.lock_hold(session, benefit.id, resident_id)
    # A retry of this very request may have committed while we waited for the lock.
    replayed = _replay(session, desk, partner, key, request_hash)
    if replayed is not None:
        return replayed
    period = limits.admit(SessionLedger(session), benefit, resident_id, now=now, zone=desk.zone)
    redemption = Redemption(
        id=uuid.uuid4(), benefit_id=benefit.id, partner_id=partner.partner_id,
        resident_id=resident_id, card_id=checked.card.id, period_key=period.key,
        slot=repository.max_slot(session, benefit.id, resident_id, period.key) + 1,
        idempotency_key=key, request_hash=request_hash,
        receipt_number=new_receipt_number(), redeemed_at=now)
    try:
        with session.begin_nested():
            repository.add(session, redemption)
    except IntegrityError:
        # Only a same-key request with another body (which locked another holder's row) can
        # get here; the unique indexes refused the second row.
        replayed = _replay(session, desk, partner, key, request_hash)
        if replayed is not None:
            return replayed
        raise AlreadyRedeemed() from None
    audit.record(session, actor=partner.actor, action="benefit.redeemed",
                 subject=desk.cards.vault.pseudonym("resident", resident_id),
                 clock=desk.cards.clock, detail={"benefit": str(benefit.id),
                                                 "receipt": redemption.receipt_number,
                                                 "via": partner.operator})
    return _receipt(desk, partner, redemption, benefit, session)


def void(session: Session, *, desk: LedgerDesk, partner: PartnerAccess,
         redemption_id: uuid.UUID, request: VoidIn) -> ReceiptOut:
    redemption = repository.get_redemption(session, redemption_id, for_update=True)
    if redemption is None or redemption.partner_id != partner.partner_id:
        raise RedemptionNotFound()
    if redemption.voided_at is not None:
        raise AlreadyVoided()
    now = desk.cards.clock.now()
    if now - redemption.redeemed_at > desk.void_window:
        raise VoidWindowClosed(f"A redemption can be voided within "
                               f"{int(desk.void_window.total_seconds() // 60)} minutes.")
    redemption.voided_at, redemption.void_reason = now, request.reason
    session.flush()
    audit.record(session, actor=partner.actor, action="benefit.voided",
                 subject=desk.cards.vault.pseudonym("resident", redemption.resident_id),
                 purpose=request.reason, clock=desk.cards.clock,
                 detail={"receipt": redemption.receipt_number, "via": partner.operator})
    benefit = repository.get_benefit(session, redemption.benefit_id)
    assert benefit is not None
    return _receipt(desk, partner, redemption, benefit, session)



def receipt(session: Session, *, desk: LedgerDesk, partner: PartnerAccess,
            redemption_id: uuid.UUID) -> ReceiptOut:
    """A receipt this partner recorded, to show again (the desk's void confirmation)."""
    redemption = repository.get_redemption(session, redemption_id)
    if redemption is None or redemption.partner_id != partner.partner_id:
        raise RedemptionNotFound()
    benefit = repository.get_benefit(session, redemption.benefit_id)
    assert benefit is not None
    return _receipt(desk, partner, redemption, benefit, session)


def partner_catalogue(session: Session, *, desk: LedgerDesk, partner: PartnerAccess,
                      presented: CardPresented | None) -> list[HolderBenefitState]:
    """A partner's benefits, with the presenting holder's state when a valid card is given:
    the catalogue as the ledger counts it for that holder."""
    now = desk.cards.clock.now()
    resident_id = None
    if presented is not None:
        checked = check_presented(session, desk=desk.cards, guard=desk.guard,
                                  presented=presented, now=now)
        if checked.valid and checked.card is not None:
            resident_id = checked.card.resident_id
    return catalogue.holder_states(session, partner_id=partner.partner_id,
                                   resident_id=resident_id, now=now, zone=desk.zone)
