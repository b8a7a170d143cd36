"""Enrollment centres: an administrator sets them up; slots are made from their hours."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.db import name_key
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from sites import repository
from sites import slots as slot_rules
from sites.errors import InvalidSite, SiteNameTaken, SiteNotFound, StaffNotFound
from sites.models import Site, SiteClosure, Slot, StaffSite
from sites.rules import SiteRules
from sites.schemas import (
    ClosureIn,
    ClosureOut,
    ClosureResult,
    SiteCreate,
    SiteOut,
    SiteUpdate,
    SlotOut,
)
from staff import repository as staff_repository


def _zone(name: str) -> ZoneInfo:
    # Only IANA names: a fixed offset ("UTC-5") would keep winter time all summer.
    if name not in available_timezones():
        raise InvalidSite("time_zone must be an IANA time zone, such as America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSite("time_zone must be an IANA time zone") from None


# A bound on what one generation run makes (times a week, before desks): a week of 20-minute
# slots around the clock is 504.
MAX_SLOT_TIMES_PER_WEEK = 600


def _minutes(text: str) -> int:
    hour, minute = text.split(":")
    return int(hour) * 60 + int(minute)


def _check(rules: SiteRules, *, hours: dict[str, Any], slot_minutes: int,
           accessibility: list[str], opens_on: date | None, closes_on: date | None) -> None:
    problem = slot_rules.validate_hours(hours, slot_minutes)
    if problem:
        raise InvalidSite(f"hours: {problem}")
    minutes = sum(_minutes(b) - _minutes(a) for intervals in hours.values()
                  for a, b in intervals)
    if minutes // slot_minutes > MAX_SLOT_TIMES_PER_WEEK:
        raise InvalidSite(f"at most {MAX_SLOT_TIMES_PER_WEEK} slot times a week")
    unknown = sorted(set(accessibility) - set(rules.accessibility))
    if unknown:
        raise InvalidSite("accessibility takes codes from the list: "
                          + ", ".join(rules.accessibility))
    if opens_on and closes_on and closes_on < opens_on:
        raise InvalidSite("a pop-up site closes on or after the day it opens")


def _words(name: str | None, address: str | None) -> None:
    refuse_immigration_terms("name", name)
    refuse_immigration_terms("address", address)


def site_out(session: Session, site: Site) -> SiteOut:
    per_hour = site.desks * 60 / site.slot_minutes
    return SiteOut(id=site.id, name=site.name, address=site.address, time_zone=site.time_zone,
                   hours=site.hours, desks=site.desks, slot_minutes=site.slot_minutes,
                   walk_in_percent=site.walk_in_percent, capacity_per_hour=round(per_hour, 2),
                   accessibility=list(site.accessibility), languages=list(site.languages),
                   opens_on=site.opens_on, closes_on=site.closes_on, active=site.active,
                   closures=[ClosureOut(day=c.day, reason=c.reason)
                             for c in repository.closures(session, site.id)])


def create_site(session: Session, *, actor: Actor, data: SiteCreate, rules: SiteRules,
                clock: Clock) -> SiteOut:
    _zone(data.time_zone)
    _check(rules, hours=data.hours, slot_minutes=data.slot_minutes,
           accessibility=data.accessibility, opens_on=data.opens_on, closes_on=data.closes_on)
    _words(data.name, data.address)
    key = name_key(data.name)
    if repository.site_by_name_key(session, key) is not None:
        raise SiteNameTaken()
    site = Site(name=data.name.strip(), name_key=key, address=data.address.strip(),
                time_zone=data.time_zone, hours=data.hours, desks=data.desks,
                slot_minutes=data.slot_minutes, walk_in_percent=data.walk_in_percent,
                accessibility=sorted(set(data.accessibility)),
                languages=sorted(set(data.languages)), opens_on=data.opens_on,
                closes_on=data.closes_on, active=True, created_at=clock.now())
    repository.add(session, site)
    session.flush()
    audit.record(session, actor=actor, action="site.created", subject=f"site:{site.id}",
                 detail={"desks": site.desks, "popup": data.opens_on is not None}, clock=clock)
    return site_out(session, site)


def get_site(session: Session, site_id: uuid.UUID, *, lock: bool = False) -> Site:
    site = repository.get_site(session, site_id, lock=lock)
    if site is None:
        raise SiteNotFound()
    return site


def list_sites(session: Session, *, active_only: bool = False) -> list[SiteOut]:
    return [site_out(session, s) for s in repository.list_sites(session, active_only=active_only)]


def update_site(session: Session, *, actor: Actor, site_id: uuid.UUID, data: SiteUpdate,
                rules: SiteRules, clock: Clock) -> SiteOut:
    """Changed hours or desks apply to slots generated from now on; slots already made stay,
    so nobody's booking moves under them."""
    site = get_site(session, site_id, lock=True)
    hours = data.hours if data.hours is not None else site.hours
    _check(rules, hours=hours, slot_minutes=site.slot_minutes,
           accessibility=data.accessibility if data.accessibility is not None
           else list(site.accessibility), opens_on=site.opens_on, closes_on=site.closes_on)
    _words(data.name, data.address)
    if data.name is not None and name_key(data.name) != site.name_key:
        key = name_key(data.name)
        if repository.site_by_name_key(session, key) is not None:
            raise SiteNameTaken()
        site.name, site.name_key = data.name.strip(), key
    if data.address is not None:
        site.address = data.address.strip()
    site.hours = hours
    for name in ("desks", "walk_in_percent", "active"):
        value = getattr(data, name)
        if value is not None:
            setattr(site, name, value)
    if data.accessibility is not None:
        site.accessibility = sorted(set(data.accessibility))
    if data.languages is not None:
        site.languages = sorted(set(data.languages))
    session.flush()
    audit.record(session, actor=actor, action="site.updated", subject=f"site:{site.id}",
                 clock=clock)
    return site_out(session, site)


def add_closure(session: Session, *, actor: Actor, site_id: uuid.UUID, data: ClosureIn,
                rules: SiteRules, clock: Clock, booked: set[uuid.UUID]) -> ClosureResult:
    """Close a day: its free slots go; ``booked`` names the slots that hold an appointment
    (known to the appointments package above), which are kept."""
    if data.reason not in rules.closure_reasons:
        raise InvalidSite("reason takes a code from the list: " + ", ".join(rules.closure_reasons))
    site = get_site(session, site_id, lock=True)
    if repository.closure_on(session, site.id, data.day) is None:
        repository.add(session, SiteClosure(site_id=site.id, day=data.day, reason=data.reason))
    on_day = repository.slot_ids_on(session, site.id, data.day)
    kept = [s for s in on_day if s in booked]
    removed = repository.delete_slots(session, [s for s in on_day if s not in booked])
    audit.record(session, actor=actor, action="site.closed_day", subject=f"site:{site.id}",
                 purpose=data.reason, detail={"removed": removed, "kept": len(kept)}, clock=clock)
    return ClosureResult(day=data.day, reason=data.reason, free_slots_removed=removed,
                         booked_slots_kept=len(kept))


def plan_of(session: Session, site: Site) -> slot_rules.SitePlan:
    return slot_rules.SitePlan(
        time_zone=site.time_zone, hours=site.hours, desks=site.desks,
        slot_minutes=site.slot_minutes, walk_in_percent=site.walk_in_percent,
        closures=frozenset(c.day for c in repository.closures(session, site.id)),
        opens_on=site.opens_on, closes_on=site.closes_on)


def generate_slots(session: Session, *, actor: Actor, site_id: uuid.UUID, rules: SiteRules,
                   clock: Clock, through: date | None = None) -> tuple[int, date]:
    """Make the site's slots from tomorrow (local) through ``through``. Run again, it adds
    only what is missing, so it can run on a schedule; the site row is locked so two runs
    don't both add the same slot."""
    site = get_site(session, site_id, lock=True)
    zone = _zone(site.time_zone)
    today = clock.now().astimezone(zone).date()
    last = through or today + timedelta(weeks=rules.generate_weeks)
    if last > today + timedelta(weeks=52):
        raise InvalidSite("slots are made at most a year ahead")
    first = today + timedelta(days=1)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    have = repository.existing_slot_keys(session, site.id, first, last) if days else set()
    planned = slot_rules.plan_slots(plan_of(session, site), days, rules.release)
    created = repository.add_slots(session, (
        Slot(site_id=site.id, starts_at=p.starts_at, ends_at=p.ends_at, local_day=p.local_day,
             desk=p.desk, released_at=p.released_at, walk_in=p.walk_in)
        for p in planned if (p.starts_at, p.desk) not in have))
    audit.record(session, actor=actor, action="site.slots_generated", subject=f"site:{site.id}",
                 detail={"created": created}, clock=clock)
    return created, last


def slot_out(site: Site, slot: Slot) -> SlotOut:
    local = slot.starts_at.astimezone(ZoneInfo(site.time_zone))
    return SlotOut(id=slot.id, starts_at=slot.starts_at, ends_at=slot.ends_at,
                   local_start=local.isoformat(), local_day=slot.local_day)


def assign_staff(session: Session, *, actor: Actor, site_id: uuid.UUID, staff_id: uuid.UUID,
                 clock: Clock) -> list[uuid.UUID]:
    site = get_site(session, site_id)
    if staff_repository.get(session, staff_id) is None:
        raise StaffNotFound()
    if not repository.works_at(session, staff_id, site.id):
        repository.add(session, StaffSite(staff_id=staff_id, site_id=site.id))
        session.flush()
        audit.record(session, actor=actor, action="site.staff_assigned",
                     subject=f"site:{site.id}", detail={"staff": str(staff_id)}, clock=clock)
    return repository.staff_of(session, site.id)


def unassign_staff(session: Session, *, actor: Actor, site_id: uuid.UUID,
                   staff_id: uuid.UUID, clock: Clock) -> list[uuid.UUID]:
    site = get_site(session, site_id)
    if repository.unlink_staff(session, staff_id, site.id):
        audit.record(session, actor=actor, action="site.staff_unassigned",
                     subject=f"site:{site.id}", detail={"staff": str(staff_id)}, clock=clock)
    return repository.staff_of(session, site.id)


def staff_sites(session: Session, site_id: uuid.UUID) -> list[uuid.UUID]:
    return repository.staff_of(session, get_site(session, site_id).id)


def local_now(site: Site, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(site.time_zone))
