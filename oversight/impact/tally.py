"""Counting: the window of complete months, and one pass over the residents with an event in
it, each decrypted once, into counts by month, measure, dimension and group."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cityid.errors import AppError, ErrorKind
from enrollment import service as enrollment
from enrollment.service import age_on
from oversight.impact import repository
from oversight.impact.districts import DistrictMap
from privacy.errors import DataKeyShredded
from privacy.vault import Vault

DEFAULT_MONTHS, MAX_MONTHS = 12, 60
BATCH_SIZE = 1000
# (label, youngest age). The rulebook admits no one under 10; were a city to lower its minimum
# age, younger holders would count in the first band rather than vanish from the report.
AGE_BANDS = (("10-13", 10), ("14-17", 14), ("18-24", 18), ("25-44", 25), ("45-64", 45),
             ("65+", 65))
CATEGORIES = ("membership", "discount", "service")
VETERAN, NOT_VETERAN = "veteran", "not a veteran"


class ImpactWindowInvalid(AppError):
    kind = ErrorKind.INVALID
    code = "impact_window_invalid"
    title = f"An impact report covers 1 to {MAX_MONTHS} complete months"


@dataclass(frozen=True)
class Window:
    months: tuple[str, ...]
    since: datetime
    until: datetime


def window_before(now: datetime, months: int, zone: ZoneInfo) -> Window:
    """The ``months`` complete calendar months before the current one, in the city's zone."""
    if not 1 <= months <= MAX_MONTHS:
        raise ImpactWindowInvalid()
    current = now.astimezone(zone).date().replace(day=1)
    index = current.year * 12 + current.month - 1 - months
    first = date(index // 12, index % 12 + 1, 1)
    keys = tuple(f"{(index + i) // 12:04d}-{(index + i) % 12 + 1:02d}" for i in range(months))
    return Window(keys, datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC),
                  datetime(current.year, current.month, 1, tzinfo=zone).astimezone(UTC))


def age_band(age: int) -> str:
    return next((label for label, youngest in reversed(AGE_BANDS) if age >= youngest),
                AGE_BANDS[0][0])


@dataclass(frozen=True)
class Tally:
    """Counts keyed (measure, month, dimension, group); the month's total has dimension ""."""

    counts: Counter[tuple[str, str, str, str]]
    categories: tuple[str, ...]
    unreadable: int


def tally(session: Session, *, vault: Vault, window: Window, zone: ZoneInfo,
          districts: DistrictMap, batch_size: int = BATCH_SIZE) -> Tally:
    """One pass over the residents, a batch at a time; only those with an event in the window
    are decrypted, each once."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    categories = set(CATEGORIES)
    unreadable = 0
    for batch in repository.resident_batches(session, size=batch_size):
        by_resident: dict[uuid.UUID, list[repository.Event]] = {}
        for event in repository.events_between(session, batch.first, batch.last,
                                               since=window.since, until=window.until):
            by_resident.setdefault(event.resident_id, []).append(event)
        for resident_id, events in by_resident.items():
            try:
                holder = enrollment.read_holder(session, vault=vault, resident_id=resident_id)
            except DataKeyShredded:
                unreadable += 1
                continue
            district = districts.district_of(holder.address)
            veteran = VETERAN if holder.designations.veteran else NOT_VETERAN
            for event in events:
                day = event.at.astimezone(zone).date()
                month = f"{day.year:04d}-{day.month:02d}"
                counts[event.measure, month, "", ""] += 1
                counts[event.measure, month, "district", district] += 1
                counts[event.measure, month, "age_band",
                       age_band(age_on(holder.date_of_birth, day))] += 1
                counts[event.measure, month, "designation", veteran] += 1
                if event.category is not None:
                    categories.add(event.category)
                    counts[event.measure, month, "benefit_category", event.category] += 1
    extra = tuple(sorted(categories - set(CATEGORIES)))
    return Tally(counts, (*CATEGORIES, *extra), unreadable)
