"""A redemption on the hot path: the decisions of ``redemption.ledger.redeem``, made on rows the
caller fetched (``redemption.hot_ledger_repository``) rather than through an ORM session.

It takes only what it answers exactly as the normal route does, and says so before anything
is counted or written: a QR whose card is live, a benefit of this partner that is active today,
an Idempotency-Key of the right shape not used before. Everything else (a replay found before
the transaction, a refused card, a card number, an unknown benefit) is the normal route's to
answer. Once taken, the outcomes under the holder's lock are the normal route's three: the new
receipt, the receipt of a retry that committed meanwhile (or ``idempotency_conflict``), and
``already_redeemed``. ``tests/redemption/test_hot_ledger.py`` holds the two routes to the same
answers, rows and audit entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from partners.service import PartnerAccess
from privacy.audit_prepared import PreparedEntry, prepare_entry
from redemption import benefits as catalogue
from redemption import limits
from redemption.errors import IdempotencyConflict
from redemption.hot_ledger_repository import (
    BenefitRow,
    EarlierRow,
    LedgerCard,
    Locked,
    NewRedemption,
    PeriodQuery,
    Reads,
)
from redemption.hot_repository import CardRow
from redemption.hotpath import HotDesk, QrChecked, live_reason
from redemption.ledger import new_receipt_number
from redemption.models import Benefit, Redemption
from redemption.schemas import ReceiptOut


@dataclass(frozen=True)
class Taken:
    """A request the hot path answers: its benefit, card and the period it would count in."""

    benefit: Benefit
    card: LedgerCard
    period: PeriodQuery


class _Ledger:
    """``limits.LedgerRows`` over the rows read under the lock."""

    def __init__(self, counted: list[datetime]) -> None:
        self._rows = [Redemption(redeemed_at=at) for at in counted]

    def counted(self, benefit: Benefit, resident_id: uuid.UUID,
                period: catalogue.Period) -> list[Redemption]:
        return self._rows


def _benefit(row: BenefitRow) -> Benefit:
    return Benefit(id=row.id, partner_id=row.partner_id, name=row.name, category=row.category,
                   limit_count=row.limit_count, limit_period=row.limit_period,
                   limit_days=row.limit_days, membership_days=row.membership_days,
                   active_from=row.active_from, active_until=row.active_until)


def take(reads: Reads, *, partner: PartnerAccess, checked: QrChecked, now: datetime,
         zone: ZoneInfo) -> Taken | None:
    """Whether the hot path answers, on the reads made before the transaction; None hands the
    request to the normal route, which then answers it as it always has."""
    if reads.earlier is not None or reads.benefit is None:
        return None
    if reads.benefit.partner_id != partner.partner_id:
        return None
    benefit = _benefit(reads.benefit)
    if not catalogue.active_on(benefit, now.astimezone(zone).date()):
        return None
    if checked.number_index is None or reads.card is None:
        return None  # a refused QR, or a card no longer on record: the normal route refuses
    card = reads.card
    if live_reason(CardRow(card.resident_id, card.status, card.expires_on), now.date()) != "ok":
        return None
    period = catalogue.period_at(benefit, now, zone)
    return Taken(benefit, reads.card, PeriodQuery(period.key, period.since))


class HotLedger:
    def __init__(self, hot: HotDesk, zone: ZoneInfo) -> None:
        self.hot = hot
        self.zone = zone

    def decide(self, locked: Locked, *, taken: Taken, partner: PartnerAccess, key: str,
               request_hash: str, now: datetime, mac_key: bytes
               ) -> tuple[NewRedemption, PreparedEntry] | None:
        """Under the holder's lock: the new row and its audit entry, or None when a retry
        committed meanwhile. ``already_redeemed`` is raised, as ``limits.admit`` raises it."""
        if locked.earlier is not None:
            return None
        resident_id = taken.card.resident_id
        period = limits.admit(_Ledger(locked.counted), taken.benefit, resident_id, now=now,
                              zone=self.zone)
        row = NewRedemption(
            id=uuid.uuid4(), benefit_id=taken.benefit.id, partner_id=partner.partner_id,
            resident_id=resident_id, card_id=taken.card.id, period_key=period.key,
            slot=locked.max_slot + 1, idempotency_key=key, request_hash=request_hash,
            receipt_number=new_receipt_number(), redeemed_at=now)
        entry = prepare_entry(
            mac_key, actor=partner.actor, action="benefit.redeemed", at=now,
            subject=self.hot.desk.vault.pseudonym("resident", resident_id),
            detail={"benefit": str(taken.benefit.id), "receipt": row.receipt_number,
                    "via": partner.operator})
        return row, entry

    def receipt(self, *, partner: PartnerAccess, taken: Taken, locked: Locked,
                made: NewRedemption | None, request_hash: str) -> ReceiptOut:
        """The receipt of the row just made, or of the retry that committed first."""
        if made is not None:
            rows = [*locked.counted, made.redeemed_at]
            return self._receipt(partner, taken.benefit, made.id, made.receipt_number,
                                 made.resident_id, made.redeemed_at, None, rows)
        earlier = locked.earlier
        assert earlier is not None
        return self.replay(partner=partner, taken=taken, earlier=earlier, counted=locked.counted,
                           request_hash=request_hash)

    def replay(self, *, partner: PartnerAccess, taken: Taken, earlier: EarlierRow,
               counted: list[datetime], request_hash: str) -> ReceiptOut:
        if earlier.request_hash != request_hash:
            raise IdempotencyConflict()
        # The same body names the same benefit and card, so the rows read under the lock are
        # the ones its receipt counts (at most a period's edge apart).
        return self._receipt(partner, taken.benefit, earlier.id, earlier.receipt_number,
                             earlier.resident_id, earlier.redeemed_at, earlier.voided_at,
                             counted)

    def _receipt(self, partner: PartnerAccess, benefit: Benefit, redemption_id: uuid.UUID,
                 receipt_number: str, resident_id: uuid.UUID, redeemed_at: datetime,
                 voided_at: datetime | None, counted: list[datetime]) -> ReceiptOut:
        # As ledger._receipt: with nothing counted (a voided replay), the row itself.
        live = [Redemption(redeemed_at=at) for at in counted or [redeemed_at]]
        return ReceiptOut(
            id=redemption_id, receipt_number=receipt_number, benefit_id=benefit.id,
            benefit_name=benefit.name,
            holder_token=self.hot.holder_token(partner.partner_id, resident_id),
            redeemed_at=redeemed_at,
            member_until=catalogue.member_until(benefit, live, self.zone),
            voided_at=voided_at)
