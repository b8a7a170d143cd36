"""What fulfilment keeps beside a card: where it is queued, its print batch and when each step
happened. The state itself is the card's ``fulfilment`` column, so there is one truth.
Nothing here is personal data: codes, ids and times."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id


class PrintBatch(Base):
    """Cards of one site sent to its card printer together."""

    __tablename__ = "print_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # A plain site code until sites exist (issue 17); then a foreign key to them.
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    card_count: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    printed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CardFulfilment(Base):
    __tablename__ = "card_fulfilments"

    card_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(32), index=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("print_batches.id", ondelete="SET NULL"), nullable=True, index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    not_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    identity_check: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
