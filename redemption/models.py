from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id


class Benefit(Base):
    """A catalogue entry of a partner: a membership, a discount or a service, with a limit and
    an active window (partners join and leave each year)."""

    __tablename__ = "benefits"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(16))
    limit_count: Mapped[int] = mapped_column(Integer)
    limit_period: Mapped[str] = mapped_column(String(16))
    limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    membership_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active_from: Mapped[date] = mapped_column(Date)
    active_until: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BenefitHold(Base):
    """One row per (benefit, holder): redemptions of it lock this row first, so the limit check
    and the ledger insert happen one at a time for that holder, whatever the concurrency."""

    __tablename__ = "benefit_holds"

    benefit_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("benefits.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)


class Redemption(Base):
    """A ledger row. The partial unique index on (benefit, holder, period, slot) among rows
    that are not voided, and the unique idempotency key, make a redemption happen once."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("partner_id", "idempotency_key"),
        Index("uq_redemptions_benefit_holder_period_slot", "benefit_id", "resident_id",
              "period_key", "slot", unique=True,
              sqlite_where=text("voided_at IS NULL"), postgresql_where=text("voided_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    benefit_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("benefits.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    card_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("cards.id", ondelete="SET NULL"), nullable=True)
    period_key: Mapped[str] = mapped_column(String(16))
    slot: Mapped[int] = mapped_column(Integer)
    # HMAC of the partner's Idempotency-Key under the index key (ledger.idempotency_hash).
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
