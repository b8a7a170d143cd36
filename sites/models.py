"""Enrollment centres, the staff who work at them, their closures and their slots.

A site's name, address and notes are public facts about a city building, not about a person:
they are stored in the clear (and refuse the immigration word list like other program data)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"monday": [["09:00", "17:00"]], ...}: local wall-clock opening intervals per weekday.
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    desks: Mapped[int] = mapped_column(Integer)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    # Per cent of each day's slots held back for walk-ins.
    walk_in_percent: Mapped[int] = mapped_column(Integer, default=0)
    accessibility: Mapped[list[str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    # A pop-up site runs only between these days (both included); a permanent one has neither.
    opens_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closes_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SiteClosure(Base):
    __tablename__ = "site_closures"
    __table_args__ = (UniqueConstraint("site_id", "closed_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sites.id", ondelete="CASCADE"))
    # Columns named *_on: the drill reads them as system dates, not dates of birth.
    day: Mapped[date] = mapped_column("closed_on", Date)
    reason: Mapped[str] = mapped_column(String(32))


class StaffSite(Base):
    """Which sites a staff account works at (one or more)."""

    __tablename__ = "staff_sites"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True)


class Slot(Base):
    """One desk for one slot length. Booked at most once: see appointments.models."""

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("site_id", "starts_at", "desk"),
                      Index("ix_appointment_slots_released", "site_id", "released_at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("sites.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_day: Mapped[date] = mapped_column("held_on", Date, index=True)
    desk: Mapped[int] = mapped_column(Integer)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Held back for walk-ins: never offered for booking.
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
