"""A card's fee: computed when the card is issued, replaced or renewed (idcard calls ``charge``
in the transaction that makes the card), then recorded by a clerk as paid or waived.

The amount comes from the schedule (fees/schedule.yaml) by the kind of issue and the holder's age
band on the day of the decision. What is kept is an amount, a currency, the band, a waiver code
(or none) and who recorded it: never a payment detail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from cityid.clock import Clock
from enrollment.residents import age_on
from fees import repository
from fees import schedule as fee_schedule
from fees.errors import (
    FeeAlreadyRecorded,
    FeeAmountMismatch,
    FeeNotFound,
    NoFeeDue,
    UnknownWaiverReason,
    WaiverReasonOnPayment,
    WaiverReasonRequired,
)
from fees.models import CardFee, FeeStatus
from fees.schedule import FeeKind
from fees.schemas import FeeOut, FeeRecordIn
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault


@dataclass(frozen=True)
class FeeDesk:
    vault: Vault
    clock: Clock


def _subject(desk: FeeDesk, card_id: uuid.UUID) -> str:
    # The card's own pseudonym, so a card's fee entries line up with its other audit entries.
    return desk.vault.pseudonym("card", card_id)


def charge(session: Session, *, desk: FeeDesk, actor: Actor, card_id: uuid.UUID,
           kind: FeeKind, date_of_birth: date) -> CardFee:
    """The fee due for a card just made, from the schedule in force today (the decision's day)
    and the holder's age on it."""
    rules = fee_schedule.schedule()
    today = desk.clock.today()
    due = rules.due(kind, age_on(date_of_birth, today))
    fee = CardFee(card_id=card_id, kind=kind.value, age_band=due.band,
                  amount_due_cents=due.amount_cents, currency=due.currency,
                  schedule=rules.fingerprint,
                  status=FeeStatus.DUE if due.amount_cents else FeeStatus.NONE_DUE,
                  created_at=desk.clock.now())
    repository.add(session, fee)
    audit.record(session, actor=actor, action="fee.charged", subject=_subject(desk, card_id),
                 clock=desk.clock,
                 detail={"kind": kind.value, "band": due.band, "cents": due.amount_cents,
                         "currency": due.currency.lower(), "schedule": rules.fingerprint})
    return fee


def _out(fee: CardFee) -> FeeOut:
    return FeeOut(card_id=fee.card_id, kind=fee.kind, age_band=fee.age_band,
                  amount_due_cents=fee.amount_due_cents, currency=fee.currency,
                  status=fee.status, amount_paid_cents=fee.amount_paid_cents,
                  waiver_code=fee.waiver_code, recorded_by=fee.recorded_by,
                  recorded_at=fee.recorded_at, created_at=fee.created_at,
                  waiver_reasons=sorted(fee_schedule.schedule().waiver_reasons))


def _fee(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> CardFee:
    fee = repository.fee_of(session, card_id, for_update=for_update)
    if fee is None:
        raise FeeNotFound()
    return fee


def fee_of(session: Session, *, desk: FeeDesk, actor: Actor, card_id: uuid.UUID) -> FeeOut:
    return _out(_fee(session, card_id))


def record(session: Session, *, desk: FeeDesk, actor: Actor, card_id: uuid.UUID,
           entry: FeeRecordIn) -> FeeOut:
    """The clerk records the fee as paid in full or waived with a reason code. Once only: the
    row is locked, and a fee already recorded is refused, so two clerks can't both record it."""
    fee = _fee(session, card_id, for_update=True)
    if fee.status is FeeStatus.NONE_DUE:
        raise NoFeeDue()
    if fee.status is not FeeStatus.DUE:
        raise FeeAlreadyRecorded()
    if entry.outcome == "waived":
        if not entry.waiver_reason:
            raise WaiverReasonRequired()
        reasons = fee_schedule.schedule().waiver_reasons
        if entry.waiver_reason not in reasons:
            raise UnknownWaiverReason(f"Waiver reasons: {', '.join(sorted(reasons))}.")
        fee.status, fee.waiver_code = FeeStatus.WAIVED, entry.waiver_reason
    else:
        if entry.waiver_reason:
            raise WaiverReasonOnPayment()
        if entry.amount_cents != fee.amount_due_cents:
            raise FeeAmountMismatch()
        fee.status, fee.amount_paid_cents = FeeStatus.PAID, entry.amount_cents
    fee.recorded_by, fee.recorded_at = actor.id, desk.clock.now()
    session.flush()
    audit.record(session, actor=actor, action=f"fee.{fee.status.value}",
                 subject=_subject(desk, card_id), purpose=fee.waiver_code, clock=desk.clock,
                 detail={"kind": fee.kind, "cents": fee.amount_due_cents,
                         "currency": fee.currency.lower()})
    return _out(fee)
