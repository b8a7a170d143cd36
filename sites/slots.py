"""Slots from a site's hours, in the site's own time zone, and when each is released.

Pure functions, no database: the rules can be checked quickly and exactly. Times are walked in
local wall-clock time and then converted to UTC, so a day of daylight-saving change keeps its
09:00 opening; a wall-clock time that does not exist that day (the spring-forward gap) makes no
slot, and one that happens twice (the fall-back hour) makes one, at its first occurrence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sites.rules import WEEKDAYS, ReleaseRule


@dataclass(frozen=True)
class PlannedSlot:
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    local_day: date
    desk: int
    released_at: datetime  # UTC
    walk_in: bool


@dataclass(frozen=True)
class SitePlan:
    """What slot generation needs to know about a site."""

    time_zone: str
    hours: Mapping[str, Sequence[Sequence[str]]]
    desks: int
    slot_minutes: int
    walk_in_percent: int
    closures: frozenset[date]
    opens_on: date | None = None
    closes_on: date | None = None


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    """Whether a local wall-clock time happens at all on its day (not in a spring-forward gap)."""
    round_trip = local.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def release_time(local_day: date, zone: ZoneInfo, rule: ReleaseRule) -> datetime:
    """When the slots of ``local_day`` open for booking (UTC): the rule's weekday and local time
    in the week ``weeks_ahead`` weeks before the day's week (weeks start on Monday)."""
    monday = local_day - timedelta(days=local_day.weekday())
    release_day = monday - timedelta(weeks=rule.weeks_ahead) + \
        timedelta(days=WEEKDAYS.index(rule.weekday))
    local = datetime.combine(release_day, rule.time, tzinfo=zone)
    if not _exists(local, zone):  # a release set inside the gap happens at the gap's end
        local = (local.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    return local.astimezone(UTC)


def _walk_in_marks(count: int, percent: int) -> list[bool]:
    """Which of a day's slots are held back: spread through the day, ``percent`` of them
    rounded down, so no hour is left only to walk-ins."""
    share = percent / 100
    return [math.floor((i + 1) * share) > math.floor(i * share) for i in range(count)]


def day_slots(plan: SitePlan, local_day: date, rule: ReleaseRule) -> list[PlannedSlot]:
    if local_day in plan.closures:
        return []
    if plan.opens_on is not None and local_day < plan.opens_on:
        return []
    if plan.closes_on is not None and local_day > plan.closes_on:
        return []
    zone = ZoneInfo(plan.time_zone)
    released = release_time(local_day, zone, rule)
    length = timedelta(minutes=plan.slot_minutes)
    starts: list[datetime] = []
    for opens, closes in plan.hours.get(WEEKDAYS[local_day.weekday()], []):
        # Walked as naive wall-clock times; the zone is attached to each one on its own.
        at = datetime.combine(local_day, time.fromisoformat(opens))
        end = datetime.combine(local_day, time.fromisoformat(closes))
        while at + length <= end:
            local = at.replace(tzinfo=zone, fold=0)
            if _exists(local, zone):
                starts.append(local.astimezone(UTC))
            at += length
    units = [(start, desk) for start in sorted(set(starts)) for desk in range(plan.desks)]
    marks = _walk_in_marks(len(units), plan.walk_in_percent)
    return [PlannedSlot(start, start + length, local_day, desk, released, walk_in)
            for (start, desk), walk_in in zip(units, marks, strict=True)]


def plan_slots(plan: SitePlan, days: Iterable[date], rule: ReleaseRule) -> Iterator[PlannedSlot]:
    for day in days:
        yield from day_slots(plan, day, rule)


def validate_hours(hours: Mapping[str, Sequence[Sequence[str]]], slot_minutes: int) -> str | None:
    """Why these opening hours are not usable, or None."""
    for weekday, intervals in hours.items():
        if weekday not in WEEKDAYS:
            return f"unknown weekday {weekday!r}"
        previous: time | None = None
        for interval in intervals:
            if len(interval) != 2:
                return f"{weekday}: an interval is an opening and a closing time"
            try:
                opens, closes = (time.fromisoformat(v) for v in interval)
            except ValueError:
                return f"{weekday}: times are HH:MM"
            if closes <= opens:
                return f"{weekday}: a closing time comes after its opening"
            if previous is not None and opens < previous:
                return f"{weekday}: intervals are in order and do not overlap"
            previous = closes
            minutes = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
            if minutes < slot_minutes:
                return f"{weekday}: an interval is shorter than one slot"
    return None
