"""All SQL of appointments and walk-ins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from appointments.models import Appointment, AppointmentStatus, WalkIn
from sites.models import Slot

HOLDING = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


def add(session: Session, row: Appointment | WalkIn) -> None:
    session.add(row)


def by_code_index(session: Session, code_index: str, *, lock: bool = False
                  ) -> Appointment | None:
    query = select(Appointment).where(Appointment.code_index == code_index)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get(session: Session, appointment_id: uuid.UUID, *, lock: bool = False
        ) -> Appointment | None:
    query = select(Appointment).where(Appointment.id == appointment_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def slot_is_held(session: Session, slot_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Appointment.slot_id == slot_id))))


def active_for_contact(session: Session, contact_hash: str, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.contact_hash == contact_hash, Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at > now)) or 0)


def open_slots(session: Session, site_id: uuid.UUID, *, now: datetime, first: date,
               last: date, limit: int = 500) -> Sequence[Slot]:
    """Bookable slots: released by ``now``, not held back for walk-ins, not yet started and
    with no appointment on them."""
    return session.scalars(
        select(Slot).where(Slot.site_id == site_id, Slot.released_at <= now,
                           Slot.walk_in.is_(False), Slot.starts_at > now,
                           Slot.local_day >= first, Slot.local_day <= last,
                           ~exists().where(Appointment.slot_id == Slot.id))
        .order_by(Slot.starts_at, Slot.desk).limit(limit)).all()


def held_slot_ids(session: Session, site_id: uuid.UUID, day: date) -> set[uuid.UUID]:
    return set(session.scalars(select(Appointment.slot_id).where(
        Appointment.site_id == site_id, Appointment.local_day == day,
        Appointment.slot_id.is_not(None))))


def day_appointments(session: Session, site_id: uuid.UUID, day: date) -> Sequence[Appointment]:
    return session.scalars(select(Appointment).where(
        Appointment.site_id == site_id, Appointment.local_day == day,
        Appointment.status != AppointmentStatus.CANCELLED)
        .order_by(Appointment.starts_at, Appointment.id)).all()


def free_walk_in_slots(session: Session, site_id: uuid.UUID, day: date, now: datetime) -> int:
    """Slots of the day not yet over and held by no one: those held back for walk-ins, and any
    a no-show or cancellation let go (or nobody booked)."""
    return int(session.scalar(select(func.count()).select_from(Slot).where(
        Slot.site_id == site_id, Slot.local_day == day, Slot.ends_at > now,
        ~exists().where(Appointment.slot_id == Slot.id))) or 0)


def overdue_booked(session: Session, site_id: uuid.UUID, before: datetime
                   ) -> Sequence[Appointment]:
    return session.scalars(select(Appointment).where(
        Appointment.site_id == site_id, Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at < before).with_for_update()).all()


def walk_ins(session: Session, site_id: uuid.UUID, day: date) -> Sequence[WalkIn]:
    return session.scalars(select(WalkIn).where(WalkIn.site_id == site_id,
                                                WalkIn.local_day == day)
                           .order_by(WalkIn.number)).all()


def next_walk_in_number(session: Session, site_id: uuid.UUID, day: date) -> int:
    top = session.scalar(select(func.max(WalkIn.number)).where(WalkIn.site_id == site_id,
                                                              WalkIn.local_day == day))
    return int(top or 0) + 1


def get_walk_in(session: Session, walk_in_id: uuid.UUID) -> WalkIn | None:
    return session.get(WalkIn, walk_in_id)


def due_for_reminder(session: Session, *, now: datetime, until: datetime, limit: int
                     ) -> Sequence[Appointment]:
    return session.scalars(select(Appointment).where(
        Appointment.status == AppointmentStatus.BOOKED, Appointment.contact_enc.is_not(None),
        Appointment.reminder_queued_at.is_(None), Appointment.starts_at > now,
        Appointment.starts_at <= until)
        .order_by(Appointment.starts_at).limit(limit).with_for_update(skip_locked=True)).all()


def due_for_purge(session: Session, today: date, limit: int) -> Sequence[Appointment]:
    return session.scalars(select(Appointment).where(
        Appointment.purge_on < today, Appointment.purged_at.is_(None))
        .order_by(Appointment.purge_on).limit(limit).with_for_update(skip_locked=True)).all()


def purge_fields(session: Session, appointment_id: uuid.UUID, at: datetime) -> None:
    session.execute(update(Appointment).where(Appointment.id == appointment_id).values(
        first_name_enc=None, contact_enc=None, contact_hash=None, code_index=None, slot_id=None,
        purged_at=at))


def for_numbers(session: Session, first: date, last: date
                ) -> Sequence[tuple[uuid.UUID, date, str, datetime, datetime]]:
    rows = session.execute(select(Appointment.site_id, Appointment.local_day,
                                  Appointment.status, Appointment.booked_at,
                                  Appointment.starts_at).where(
        Appointment.local_day >= first, Appointment.local_day <= last))
    return [tuple(r) for r in rows]  # type: ignore[misc]
