"""Numbers for the city: appointments booked, kept and missed, the no-show rate and the lead
time from booking to visit (median and 90th percentile), per site and ISO week. Aggregates
only; a cell counting fewer appointments than the threshold is suppressed, as the other
reports do (redemption/reports.py), so no one can be picked out of a count."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import date

from pydantic import BaseModel
from sqlalchemy.orm import Session

from appointments import repository
from appointments.models import AppointmentStatus
from privacy import audit
from privacy.audit import Actor
from redemption.reports import MIN_CELL
from sites import repository as site_repository


class WeekCell(BaseModel):
    site_id: uuid.UUID
    site_name: str
    week: str  # ISO week, e.g. "2026-W52"
    booked: int | None
    kept: int | None
    no_shows: int | None
    cancelled: int | None
    no_show_rate: float | None
    lead_days_median: float | None
    lead_days_p90: float | None
    suppressed: bool


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: a value that occurred, not an interpolation between two."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def by_site_and_week(session: Session, *, actor: Actor, first: date, last: date,
                     min_cell: int = MIN_CELL) -> list[WeekCell]:
    names = {s.id: s.name for s in site_repository.list_sites(session)}
    groups: dict[tuple[uuid.UUID, str], list[tuple[str, float]]] = defaultdict(list)
    for site_id, day, status, booked_at, starts_at in repository.for_numbers(session, first,
                                                                             last):
        iso_year, iso_week, _ = day.isocalendar()
        lead = (starts_at - booked_at).total_seconds() / 86400
        groups[(site_id, f"{iso_year}-W{iso_week:02d}")].append((status, lead))
    cells = []
    for (site_id, week), rows in sorted(groups.items(), key=lambda g: (names.get(g[0][0], ""),
                                                                       g[0][1])):
        statuses = [s for s, _ in rows]
        held = [lead for s, lead in rows if s != AppointmentStatus.CANCELLED]
        kept = statuses.count(AppointmentStatus.CHECKED_IN)
        missed = statuses.count(AppointmentStatus.NO_SHOW)
        hidden = len(rows) < min_cell
        cells.append(WeekCell(
            site_id=site_id, site_name=names.get(site_id, "?"), week=week,
            booked=None if hidden else len(rows), kept=None if hidden else kept,
            no_shows=None if hidden else missed,
            cancelled=None if hidden else statuses.count(AppointmentStatus.CANCELLED),
            no_show_rate=None if hidden or not kept + missed
            else round(missed / (kept + missed), 3),
            lead_days_median=None if hidden or not held else round(_percentile(held, 0.5), 2),
            lead_days_p90=None if hidden or not held else round(_percentile(held, 0.9), 2),
            suppressed=hidden))
    audit.record(session, actor=actor, action="report.appointments", detail={"k": min_cell})
    return cells
