from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id
from privacy.sealed import SealedFields


class HolderCode(Base):
    """A one-time code, kept only as a keyed hash bound to the card number it was asked for.
    A code confirming a new contact also holds that contact, sealed, until it is confirmed."""

    __sealed__: ClassVar[SealedFields] = SealedFields({"new_contact": "text"})

    __tablename__ = "holder_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    card_number_index: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # sign_in, or the channel being confirmed
    code_hash: Mapped[str] = mapped_column(String(64))
    new_contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HolderSession(Base):
    """A short-lived session a code was exchanged for, bound to one card number. Only the
    token's keyed hash is kept."""

    __tablename__ = "holder_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    card_number_index: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
