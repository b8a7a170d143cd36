"""Public booking: pick a slot, keep a code, change or cancel with it.

Fair under a release rush: each slot is taken by at most one appointment, by a unique
constraint the database enforces whatever the concurrency (the insert runs in a savepoint, so
the loser of a race gets a clear ``slot_taken`` and its transaction stays usable); throttles
per client and per contact keep one hand from draining a release. Reminders: the contact is
kept, sealed, for the notification outbox; nothing is sent from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appointments import reminders, repository
from appointments.code import new_code, normalise_code
from appointments.errors import (
    AppointmentClosed,
    AppointmentNotFound,
    BookingThrottled,
    InvalidBooking,
    SlotNotFound,
    SlotNotOpen,
    SlotTaken,
    TooManyBookings,
)
from appointments.models import Appointment, AppointmentStatus
from appointments.rules import BookingRules
from appointments.schemas import (
    AppointmentOut,
    BookingIn,
    DocumentToBring,
    PublicSiteOut,
    RescheduleIn,
)
from cityid.clock import Clock
from cityid.db import violated_constraint
from cityid.ratelimit import Limit, RateLimiter
from enrollment.rulebook import Rulebook
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault
from sites import repository as site_repository
from sites.models import Site, Slot
from sites.service import get_site

TABLE = "appointments"
PUBLIC = Actor("public", "anonymous")
SLOT_CONSTRAINT = "uq_appointments_slot_id"


@dataclass(frozen=True)
class BookingDesk:
    vault: Vault
    limiter: RateLimiter
    clock: Clock
    rules: BookingRules
    rulebook: Rulebook

    @property
    def attempts(self) -> Limit:
        return Limit("appointments:attempts", self.rules.booking_attempts_per_client_per_minute,
                     60)

    @property
    def per_client_day(self) -> Limit:
        return Limit("appointments:client_day", self.rules.max_bookings_per_client_per_day,
                     86400)

    @property
    def per_contact(self) -> Limit:
        # A contact can be offered by many clients: its own throttle, by keyed hash.
        return Limit("appointments:contact", self.rules.max_active_per_contact * 3, 86400)

    @property
    def lookups(self) -> Limit:
        return Limit("appointments:lookup", self.rules.code_lookups_per_client_per_hour, 3600)


def _normal_contact(contact: str) -> str:
    if "@" in contact:
        return contact.strip().lower()
    return "".join(c for c in contact if c.isdigit() or c == "+")


def documents_to_bring(rulebook: Rulebook) -> list[DocumentToBring]:
    return [DocumentToBring(kind=kind, label=spec.label, category=spec.category.value,
                            points=spec.points)
            for kind, spec in rulebook.spec.documents.items()]


def public_sites(session: Session) -> list[PublicSiteOut]:
    return [PublicSiteOut(id=s.id, name=s.name, address=s.address, time_zone=s.time_zone,
                          accessibility=list(s.accessibility), languages=list(s.languages),
                          opens_on=s.opens_on, closes_on=s.closes_on)
            for s in site_repository.list_sites(session, active_only=True)]


def open_slots(session: Session, *, clock: Clock, site_id: uuid.UUID, first: date | None,
               days: int) -> tuple[Site, list[Slot]]:
    site = get_site(session, site_id)
    if not site.active:
        return site, []
    now = clock.now()
    today = now.astimezone(ZoneInfo(site.time_zone)).date()
    start = first or today
    if not today - timedelta(days=1) <= start <= today + timedelta(days=366):
        return site, []  # no slot is made further ahead than a year
    last = start + timedelta(days=max(1, min(days, 62)) - 1)
    return site, list(repository.open_slots(session, site.id, now=now, first=start, last=last))


def _open_slot(session: Session, slot_id: uuid.UUID, now: datetime) -> tuple[Slot, Site]:
    slot = site_repository.get_slot(session, slot_id)
    if slot is None:
        raise SlotNotFound()
    site = get_site(session, slot.site_id)
    if not site.active or slot.walk_in or slot.released_at > now or slot.starts_at <= now:
        raise SlotNotOpen()
    if repository.slot_is_held(session, slot.id):
        raise SlotTaken()
    return slot, site


def _take(session: Session, appointment: Appointment, slot: Slot) -> None:
    """Put the appointment on the slot; the unique constraint decides a race."""
    try:
        with session.begin_nested():
            appointment.slot_id = slot.id
            session.add(appointment)
            session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == SLOT_CONSTRAINT:
            raise SlotTaken() from None
        raise


def _out(session: Session, desk: BookingDesk, appointment: Appointment, site: Site, *,
         code: str | None = None, with_name: bool = True) -> AppointmentOut:
    first_name = None
    if with_name and appointment.first_name_enc is not None:
        cipher = desk.vault.open_data_key(session, appointment.id).record(TABLE, appointment.id)
        first_name = cipher.open_text("first_name", appointment.first_name_enc)
    local = appointment.starts_at.astimezone(ZoneInfo(site.time_zone))
    return AppointmentOut(
        code=code, status=appointment.status, site_id=site.id, site_name=site.name,
        site_address=site.address, starts_at=appointment.starts_at, local_start=local.isoformat(),
        party_size=appointment.party_size, interpreter=appointment.interpreter,
        interpreter_language=appointment.interpreter_language, first_name=first_name,
        reminders="kept_for_reminders" if appointment.contact_enc is not None else "none",
        documents_to_bring=documents_to_bring(desk.rulebook))


def book(session: Session, *, desk: BookingDesk, data: BookingIn, lang: str,
         client: str) -> AppointmentOut:
    desk.limiter.consume(desk.attempts, client, BookingThrottled)
    if data.party_size > desk.rules.max_party_size:
        raise InvalidBooking(f"An appointment covers at most {desk.rules.max_party_size} people")
    if data.interpreter_language is not None and not data.interpreter:
        raise InvalidBooking("interpreter_language goes with interpreter: true")
    now = desk.clock.now()
    slot, site = _open_slot(session, data.slot_id, now)
    contact_hash = None
    if data.contact:
        contact_hash = desk.vault.keyed_hash("appointment_contact", _normal_contact(data.contact))
        desk.limiter.consume(desk.per_contact, contact_hash, BookingThrottled)
        if repository.active_for_contact(session, contact_hash, now) >= \
                desk.rules.max_active_per_contact:
            raise TooManyBookings()
    appointment_id = uuid.uuid4()
    cipher = desk.vault.create_data_key(session, appointment_id).record(TABLE, appointment_id)
    code = new_code()
    appointment = Appointment(
        id=appointment_id, site_id=site.id, starts_at=slot.starts_at, local_day=slot.local_day,
        code_index=desk.vault.blind_index("appointment_code", code),
        status=AppointmentStatus.BOOKED, party_size=data.party_size, language=lang,
        interpreter=data.interpreter, interpreter_language=data.interpreter_language,
        first_name_enc=cipher.seal_text("first_name", data.first_name),
        contact_enc=cipher.seal_text("contact", data.contact), contact_hash=contact_hash,
        booked_at=now, changed_at=now,
        purge_on=slot.local_day + timedelta(days=desk.rules.purge_after_days))
    _take(session, appointment, slot)
    # Counted only once the slot is ours, so losing a race costs a client nothing; refused
    # after it, the transaction rolls back and the slot stays free.
    if desk.limiter.reserve(desk.per_client_day, client) is not None:
        raise TooManyBookings()
    audit.record(session, actor=PUBLIC, action="appointment.booked",
                 subject=desk.vault.pseudonym("appointment", appointment.id),
                 detail={"party": data.party_size, "interpreter": data.interpreter},
                 clock=desk.clock)
    return _out(session, desk, appointment, site, code=code)


def _by_code(session: Session, desk: BookingDesk, code: str, client: str) -> Appointment:
    desk.limiter.consume(desk.lookups, client, BookingThrottled)
    index = desk.vault.blind_index("appointment_code", normalise_code(code))
    appointment = repository.by_code_index(session, index, lock=True)
    if appointment is None:
        raise AppointmentNotFound()
    return appointment


def find(session: Session, *, desk: BookingDesk, code: str, client: str) -> AppointmentOut:
    appointment = _by_code(session, desk, code, client)
    return _out(session, desk, appointment, get_site(session, appointment.site_id))


def _changeable(appointment: Appointment, now: datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        raise AppointmentClosed()


def reschedule(session: Session, *, desk: BookingDesk, data: RescheduleIn,
               client: str) -> AppointmentOut:
    appointment = _by_code(session, desk, data.code, client)
    now = desk.clock.now()
    _changeable(appointment, now)
    slot, site = _open_slot(session, data.slot_id, now)
    appointment.site_id, appointment.starts_at = site.id, slot.starts_at
    appointment.local_day, appointment.changed_at = slot.local_day, now
    appointment.purge_on = slot.local_day + timedelta(days=desk.rules.purge_after_days)
    _take(session, appointment, slot)
    reminders.withdraw(session, appointment)
    audit.record(session, actor=PUBLIC, action="appointment.rescheduled",
                 subject=desk.vault.pseudonym("appointment", appointment.id), clock=desk.clock)
    return _out(session, desk, appointment, site)


def cancel(session: Session, *, desk: BookingDesk, code: str, client: str) -> AppointmentOut:
    appointment = _by_code(session, desk, code, client)
    now = desk.clock.now()
    _changeable(appointment, now)
    appointment.status, appointment.slot_id, appointment.changed_at = \
        AppointmentStatus.CANCELLED, None, now
    # Nothing more is needed of a cancelled booking's name and contact.
    appointment.purge_on = min(appointment.purge_on,
                               now.date() + timedelta(days=desk.rules.purge_after_days))
    reminders.withdraw(session, appointment)
    session.flush()
    audit.record(session, actor=PUBLIC, action="appointment.cancelled",
                 subject=desk.vault.pseudonym("appointment", appointment.id), clock=desk.clock)
    return _out(session, desk, appointment, get_site(session, appointment.site_id))
