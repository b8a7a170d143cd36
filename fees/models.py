"""A card's fee: computed from the schedule when the card is issued, replaced or renewed, then
recorded at the desk as paid or waived. Amounts and codes only: no card number, no payer's
name, no payment detail of any kind, so nothing here is personal data."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.columns import EnumString
from cityid.db import Base, UTCDateTime


class FeeStatus(enum.StrEnum):
    DUE = "due"
    PAID = "paid"
    WAIVED = "waived"
    # The schedule asks nothing for this issue (IDNYC's first card): nothing to record.
    NONE_DUE = "none_due"


class CardFee(Base):
    __tablename__ = "card_fees"

    card_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    age_band: Mapped[str] = mapped_column(String(32))
    amount_due_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    # Which schedule the amount came from (a hash of its file), so a later change explains itself.
    schedule: Mapped[str] = mapped_column(String(16))
    status: Mapped[FeeStatus] = mapped_column(EnumString(FeeStatus, 12), index=True)
    amount_paid_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    waiver_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The staff account that recorded the payment or the waiver.
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
