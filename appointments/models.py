"""Appointments booked by the public, and the walk-in queue.

Each slot is booked at most once under any concurrency: ``slot_id`` is unique. A cancelled,
no-show or purged appointment lets go of its slot (``slot_id`` becomes NULL, which a unique
constraint allows any number of times on both backends), and keeps a copy of its start for
the numbers. What a booking keeps of a person (first name, contact) is sealed under the
appointment's own data key and destroyed a set time after the visit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id
from privacy.sealed import SealedFields


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class WalkInStatus(StrEnum):
    WAITING = "waiting"
    SERVED = "served"
    LEFT = "left"


class Appointment(Base):

    __sealed__: ClassVar[SealedFields] = SealedFields({"first_name": "text", "contact": "text"},
                                                      owner="id")
    __tablename__ = "appointments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("appointment_slots.id", ondelete="SET NULL"), unique=True,
        nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    local_day: Mapped[date] = mapped_column("held_on", Date, index=True)
    # The booking code is a bearer secret: only its blind index; NULL once purged.
    code_index: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    party_size: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    first_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # A keyed hash of the normalised contact: to cap the appointments one contact holds.
    contact_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="SET NULL"), nullable=True)
    purge_on: Mapped[date] = mapped_column(Date, index=True)
    # When the reminder was put in the outbox (once per booked time; a reschedule clears it).
    reminder_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WalkIn(Base):
    """Someone who came without an appointment, queued at a site for the day. No name: a
    queue number is called out."""

    __tablename__ = "walk_ins"
    __table_args__ = (UniqueConstraint("site_id", "held_on", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    local_day: Mapped[date] = mapped_column("held_on", Date)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
