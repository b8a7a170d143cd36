from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id
from privacy.sealed import SealedFields


class OutboxMessage(Base):
    """A message waiting to be sent. It holds no text: the words are rendered from the catalog
    in the holder's language when it is sent. The recipient (only when it is not the contact on
    file, such as a new e-mail being confirmed) and the parameters (a one-time code) are
    ciphertext under the owner's data key. Deleted once sent.

    Its owner is a resident, or an appointment (a reminder to whoever booked it, who may not be
    a resident yet): the reminder travels with the booking's contact and language, sealed under
    the appointment's own data key, so purging the appointment makes it unreadable too."""

    __sealed__: ClassVar[SealedFields] = SealedFields({"recipient": "text", "params": "json"},
                                                      owner="owner_id")
    __tablename__ = "notification_outbox"
    __table_args__ = (CheckConstraint("(resident_id IS NULL) <> (appointment_id IS NULL)",
                                      name="one_owner"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True, nullable=True)
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("appointments.id", ondelete="CASCADE"), index=True, nullable=True)
    # The language of a message to an appointment's contact (a resident's is read from their
    # record at send time).
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    # email or sms; None: whichever contact is on file at send time (e-mail first).
    channel: Mapped[str | None] = mapped_column(String(8), nullable=True)
    recipient_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    params_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Past this, the message is dropped unsent (a one-time code that expired is useless).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    @property
    def owner_id(self) -> uuid.UUID:
        """Whose data key seals the message: the resident's, or the appointment's."""
        owner = self.resident_id or self.appointment_id
        assert owner is not None  # the one_owner constraint
        return owner


class NotificationChoice(Base):
    """A holder's choice to receive (or not) one kind of notice; no row means the default."""

    __tablename__ = "notification_choices"

    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_in: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CardNotice(Base):
    """That a once-per-card notice (card ready, renewal open) was queued, so a rescan or a
    retried step does not send it twice."""

    __tablename__ = "card_notices"

    card_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
