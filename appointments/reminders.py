"""Appointment reminders: a set time before a booked appointment (rules.yaml,
``reminder_hours_before``) a reminder goes into the notification outbox for whoever booked it
with a contact; giving a contact at booking is asking for it. Once per booked time: a
reschedule withdraws the unsent reminder and the new time gets its own, a cancellation
withdraws it. The reminder says where and when (the centre's public name and address, the local
day and time), in the booking's language; never the booker's name or the booking code."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from appointments import repository
from appointments.models import Appointment
from appointments.rules import BookingRules
from notifications import service as notices
from notifications.service import Channel, NoticeDesk
from sites.service import get_site

TABLE = "appointments"


def channel_of(contact: str) -> Channel:
    # The booking form takes a phone number or an e-mail address and nothing else.
    return "email" if "@" in contact else "sms"


def queue_due(session: Session, *, desk: NoticeDesk, rules: BookingRules,
              batch: int = 500) -> int:
    """Queue the reminder of every booked appointment with a contact that starts within the
    reminder window and has none yet. Rows a concurrent scan holds are skipped. Returns how
    many were queued."""
    now = desk.clock.now()
    due = repository.due_for_reminder(
        session, now=now, until=now + timedelta(hours=rules.reminder_hours_before), limit=batch)
    for appointment in due:
        _queue(session, desk, appointment)
    return len(due)


def _queue(session: Session, desk: NoticeDesk, appointment: Appointment) -> None:
    cipher = desk.vault.open_data_key(session, appointment.id).record(TABLE, appointment.id)
    contact = cipher.open_text("contact", appointment.contact_enc)
    appointment.reminder_queued_at = desk.clock.now()
    if not contact:
        return
    site = get_site(session, appointment.site_id)
    local = appointment.starts_at.astimezone(ZoneInfo(site.time_zone))
    notices.enqueue_reminder(
        session, desk=desk, appointment_id=appointment.id, channel=channel_of(contact),
        recipient=contact, language=appointment.language, until=appointment.starts_at,
        params={"site": site.name, "address": site.address,
                "day_on": local.date().isoformat(), "time": local.strftime("%H:%M")})


def withdraw(session: Session, appointment: Appointment) -> None:
    """The appointment was moved or cancelled: its unsent reminder goes, and a moved one gets
    a new reminder for its new time."""
    notices.withdraw_reminders(session, appointment.id)
    appointment.reminder_queued_at = None
