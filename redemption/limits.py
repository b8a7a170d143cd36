"""A benefit's limit as a rule: whether one more redemption fits in the period it falls in.

The rule reads the ledger through a small protocol, so it is the same whether the rows come
from the database (``SessionLedger``) or from memory; the ledger's unique index and the holder's
row lock (``redemption.ledger``) make it hold under concurrency.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from redemption import benefits as catalogue
from redemption.benefits import Period
from redemption.errors import AlreadyRedeemed
from redemption.models import Benefit, Redemption


class LedgerRows(Protocol):
    def counted(self, benefit: Benefit, resident_id: uuid.UUID,
                period: Period) -> Sequence[Redemption]:
        """The holder's redemptions of ``benefit`` that count in ``period``: not voided, and in
        the named calendar period or after the rolling window's start."""
        ...


class SessionLedger:
    def __init__(self, session: Session) -> None:
        self.session = session

    def counted(self, benefit: Benefit, resident_id: uuid.UUID,
                period: Period) -> Sequence[Redemption]:
        return catalogue.counted(self.session, benefit, resident_id, period)


def refuse_if_used_up(benefit: Benefit, live: Sequence[Redemption], zone: ZoneInfo) -> None:
    if len(live) >= benefit.limit_count:
        last = max(r.redeemed_at for r in live).astimezone(zone).date()
        raise AlreadyRedeemed(f"Already redeemed on {last.isoformat()}.")


def admit(ledger: LedgerRows, benefit: Benefit, resident_id: uuid.UUID, *, now: datetime,
          zone: ZoneInfo) -> Period:
    """The period a redemption at ``now`` falls in, if the holder's limit leaves room for it."""
    period = catalogue.period_at(benefit, now, zone)
    refuse_if_used_up(benefit, ledger.counted(benefit, resident_id, period), zone)
    return period
