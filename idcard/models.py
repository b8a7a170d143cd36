from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.columns import EnumString
from cityid.db import Base, UTCDateTime, new_id
from idcard.states import CardStatus
from privacy.sealed import SealedFields


class Card(Base):
    """One issue of a resident's card. The number and the signed credential (which spells out
    the name and date of birth) are ciphertext under the resident's data key."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("card_number_index", "issue_number"),)
    __sealed__: ClassVar[SealedFields] = SealedFields({"card_number": "text",
                                                       "credential": "text"})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="SET NULL"), nullable=True, index=True)
    # Looked up through the unique (number, issue) index, which starts with it.
    card_number_index: Mapped[str] = mapped_column(String(64))
    card_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    issue_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[CardStatus] = mapped_column(EnumString(CardStatus, 12), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status_index: Mapped[int] = mapped_column(Integer, unique=True)
    kid: Mapped[str] = mapped_column(String(64), index=True)
    # The verifier key that sealed the QR; None for a plain signed QR (sealing off, or older).
    verifier_kid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    credential_enc: Mapped[bytes] = mapped_column(LargeBinary)
    fulfilment: Mapped[str] = mapped_column(String(20), index=True)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class StatusListDocument(Base):
    """The signed status list as last built. Rebuilt when a card's status changes and when it
    nears the end of its time to live, not on every request."""

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
