"""The clerk's day at a site: appointments by time with check-in, the walk-in queue, no-shows
let go after a grace period, and an application started from a checked-in appointment.

Only staff who work at the site (sites' staff links) see its day: the day lists first names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from appointments import repository
from appointments.errors import AppointmentClosed, AppointmentNotFound, InvalidBooking
from appointments.models import Appointment, AppointmentStatus, WalkIn, WalkInStatus
from appointments.rules import BookingRules
from appointments.schemas import (
    DayAppointmentOut,
    DayOut,
    NoShowResult,
    WalkInIn,
    WalkInOut,
)
from cityid.clock import Clock
from enrollment import repository as enrollment_repository
from enrollment import service as enrollment
from enrollment.schemas import ApplicationCreate, ApplicationOut
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from sites import repository as site_repository
from sites.errors import NotAtThisSite
from sites.models import Site
from sites.service import get_site


@dataclass(frozen=True)
class DayDesk:
    vault: Vault
    clock: Clock
    rules: BookingRules


def _site_for(session: Session, actor: Actor, site_id: uuid.UUID) -> Site:
    site = get_site(session, site_id)
    try:
        staff_id = uuid.UUID(actor.id)
    except ValueError:
        raise NotAtThisSite() from None
    if not site_repository.works_at(session, staff_id, site.id):
        raise NotAtThisSite()
    return site


def _today(site: Site, desk: DayDesk) -> date:
    return desk.clock.now().astimezone(ZoneInfo(site.time_zone)).date()


def _appointment_out(session: Session, desk: DayDesk, site: Site,
                     appointment: Appointment) -> DayAppointmentOut:
    first_name = None
    if appointment.first_name_enc is not None:
        first_name = desk.vault.open_data_key(session, appointment.id).record(
            "appointments", appointment.id).open_text("first_name", appointment.first_name_enc)
    return DayAppointmentOut(
        id=appointment.id, starts_at=appointment.starts_at,
        local_start=appointment.starts_at.astimezone(ZoneInfo(site.time_zone)).isoformat(),
        status=appointment.status, party_size=appointment.party_size,
        language=appointment.language, interpreter=appointment.interpreter,
        interpreter_language=appointment.interpreter_language, first_name=first_name,
        application_id=appointment.application_id)


def _walk_in_out(walk_in: WalkIn) -> WalkInOut:
    return WalkInOut(id=walk_in.id, number=walk_in.number, status=walk_in.status,
                     language=walk_in.language, interpreter=walk_in.interpreter,
                     interpreter_language=walk_in.interpreter_language,
                     queued_at=walk_in.queued_at)


def day(session: Session, *, desk: DayDesk, actor: Actor, site_id: uuid.UUID,
        on: date | None = None) -> DayOut:
    site = _site_for(session, actor, site_id)
    when = on or _today(site, desk)
    return DayOut(
        site_id=site.id, day=when,
        appointments=[_appointment_out(session, desk, site, a)
                      for a in repository.day_appointments(session, site.id, when)],
        walk_ins=[_walk_in_out(w) for w in repository.walk_ins(session, site.id, when)],
        walk_in_slots_free=repository.free_walk_in_slots(session, site.id, when,
                                                         desk.clock.now()))


def _todays(session: Session, desk: DayDesk, site: Site,
            appointment_id: uuid.UUID) -> Appointment:
    appointment = repository.get(session, appointment_id, lock=True)
    if appointment is None or appointment.site_id != site.id:
        raise AppointmentNotFound()
    if appointment.local_day != _today(site, desk):
        raise AppointmentClosed("Only today's appointments are worked at the desk")
    return appointment


def check_in(session: Session, *, desk: DayDesk, actor: Actor, site_id: uuid.UUID,
             appointment_id: uuid.UUID) -> DayAppointmentOut:
    site = _site_for(session, actor, site_id)
    appointment = _todays(session, desk, site, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise AppointmentClosed("This appointment is not waiting for check-in")
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.checked_in_at = appointment.changed_at = desk.clock.now()
    session.flush()
    audit.record(session, actor=actor, action="appointment.checked_in",
                 subject=desk.vault.pseudonym("appointment", appointment.id), clock=desk.clock)
    return _appointment_out(session, desk, site, appointment)


def release_no_shows(session: Session, *, desk: DayDesk, actor: Actor,
                     site_id: uuid.UUID) -> NoShowResult:
    """Appointments not checked in by their start plus the grace period are no-shows; their
    slots are let go, so the desk can serve a walk-in in them."""
    site = _site_for(session, actor, site_id)
    now = desk.clock.now()
    overdue = repository.overdue_booked(
        session, site.id, now - timedelta(minutes=desk.rules.no_show_grace_minutes))
    for appointment in overdue:
        appointment.status, appointment.slot_id = AppointmentStatus.NO_SHOW, None
        appointment.changed_at = now
    session.flush()
    audit.record(session, actor=actor, action="appointment.no_shows_released",
                 subject=f"site:{site.id}", detail={"released": len(overdue)}, clock=desk.clock)
    return NoShowResult(released=len(overdue))


def add_walk_in(session: Session, *, desk: DayDesk, actor: Actor, site_id: uuid.UUID,
                data: WalkInIn) -> WalkInOut:
    if data.interpreter_language is not None and not data.interpreter:
        raise InvalidBooking("interpreter_language goes with interpreter: true")
    site = get_site(session, site_id, lock=True)  # numbers the queue one at a time
    _site_for(session, actor, site.id)
    today = _today(site, desk)
    walk_in = WalkIn(site_id=site.id, local_day=today,
                     number=repository.next_walk_in_number(session, site.id, today),
                     status=WalkInStatus.WAITING, language=data.language,
                     interpreter=data.interpreter, interpreter_language=data.interpreter_language,
                     queued_at=desk.clock.now())
    repository.add(session, walk_in)
    session.flush()
    audit.record(session, actor=actor, action="walk_in.queued", subject=f"site:{site.id}",
                 detail={"interpreter": data.interpreter}, clock=desk.clock)
    return _walk_in_out(walk_in)


def serve_walk_in(session: Session, *, desk: DayDesk, actor: Actor, site_id: uuid.UUID,
                  walk_in_id: uuid.UUID) -> WalkInOut:
    site = _site_for(session, actor, site_id)
    walk_in = repository.get_walk_in(session, walk_in_id)
    if walk_in is None or walk_in.site_id != site.id:
        raise AppointmentNotFound("No such walk-in at this site")
    if walk_in.status != WalkInStatus.WAITING:
        raise AppointmentClosed("This walk-in is not waiting")
    walk_in.status, walk_in.served_at = WalkInStatus.SERVED, desk.clock.now()
    session.flush()
    audit.record(session, actor=actor, action="walk_in.served", subject=f"site:{site.id}",
                 clock=desk.clock)
    return _walk_in_out(walk_in)


@dataclass(frozen=True)
class StartedApplication:
    application: ApplicationOut
    language: str
    interpreter: bool
    interpreter_language: str | None


def start_application(session: Session, *, desk: DayDesk,
                      enrollment_desk: enrollment.EnrollmentDesk, actor: Actor,
                      site_id: uuid.UUID, appointment_id: uuid.UUID,
                      data: ApplicationCreate) -> StartedApplication:
    """The application of a checked-in appointment: the language the resident booked in
    becomes the application's preferred language unless the clerk chose one, and the
    appointment keeps the link, so the interpreter need travels with it."""
    site = _site_for(session, actor, site_id)
    appointment = _todays(session, desk, site, appointment_id)
    if appointment.status != AppointmentStatus.CHECKED_IN or appointment.application_id:
        raise AppointmentClosed("Check the appointment in first; one application per visit")
    languages = data.designations.languages or [appointment.interpreter_language
                                                or appointment.language]
    data = data.model_copy(update={"designations": data.designations.model_copy(
        update={"languages": languages})})
    created = enrollment.create_application(session, desk=enrollment_desk, actor=actor,
                                            data=data)
    found = enrollment_repository.application_by_reference_index(
        session, enrollment.reference_index(enrollment_desk, created.reference))
    appointment.application_id = found.id if found is not None else None
    appointment.changed_at = desk.clock.now()
    session.flush()
    audit.record(session, actor=actor, action="appointment.application_started",
                 subject=desk.vault.pseudonym("appointment", appointment.id),
                 detail={"interpreter": appointment.interpreter}, clock=desk.clock)
    return StartedApplication(created, appointment.language, appointment.interpreter,
                              appointment.interpreter_language)
