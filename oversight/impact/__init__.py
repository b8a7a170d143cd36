"""Program impact reports: enrollments, cards issued and benefit redemptions per month, by
district, age band, designation and benefit category, as tables, CSV and SVG charts.

Each table's rows are months, and a row's total is that month's total for the measure, the same
figure in every table of the measure. Only complete months are reported: a month still under way
changes day by day, and two reports a day apart would single out whoever enrolled in between. No
total over the months is published either, so windows of different lengths differ by whole rows
and cannot be subtracted from each other to reveal a withheld cell.

District, age and veteran status are sealed under each resident's data key, so the report reads
the residents who had an event in the window once each, through enrollment's services, in
batches. A resident whose data key has been shredded is counted nowhere, not even in the totals.

One module a topic: districts.py (the ZIP code mapping), tally.py (the window and the one pass
over residents), tables.py (the tables as data), output.py (CSV and SVG), repository.py (the
SQL); which cells to withhold is the kernel's (cityid/suppression.py), which the fee report
shares. This module is the service.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import NotFound
from cityid.suppression import K, suppress_row
from oversight.impact.districts import DistrictMapInvalid, load_districts
from oversight.impact.output import table_csv, table_svg
from oversight.impact.tables import (
    ImpactCell,
    ImpactReport,
    ImpactRow,
    ImpactTable,
    build_tables,
    table_ids,
)
from oversight.impact.tally import (
    DEFAULT_MONTHS,
    MAX_MONTHS,
    ImpactWindowInvalid,
    age_band,
    tally,
    window_before,
)
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault

__all__ = [
    "DEFAULT_MONTHS",
    "MAX_MONTHS",
    "DistrictMapInvalid",
    "ImpactCell",
    "ImpactReport",
    "ImpactRow",
    "ImpactTable",
    "ImpactTableNotFound",
    "ImpactWindowInvalid",
    "K",
    "age_band",
    "impact_chart",
    "impact_csv",
    "impact_report",
    "load_districts",
    "suppress_row",
    "table_ids",
    "window_before",
]

NOTES = (
    "Counts are per complete calendar month in the city's time zone.",
    "A cell under k is withheld; so is any cell that the row total and the cells shown would "
    "reveal (including the count of non-veterans, which is not published).",
    "Age is the age on the day of the event; district comes from the home address's ZIP code.",
    "Designations overlap: a senior veteran counts in both columns; the total is all residents.",
    "Residents whose data key has been destroyed are not counted.",
)


class ImpactTableNotFound(NotFound):
    code = "impact_table_not_found"
    title = "There is no impact report table by that name"


def _generate(session: Session, *, vault: Vault, actor: Actor, clock: Clock, zone: ZoneInfo,
              months: int, k: int, districts_path: Path | None, output: str,
              table: str | None) -> ImpactReport:
    if table is not None and table not in table_ids():
        raise ImpactTableNotFound()
    window = window_before(clock.now(), months, zone)
    districts = load_districts(districts_path)
    counted = tally(session, vault=vault, window=window, zone=zone, districts=districts)
    tables = build_tables(counted, window, districts, k=k)
    audit.record(session, actor=actor, action="report.impact", clock=clock,
                 detail={"output": output, "table": table or "all", "months": months, "k": k,
                         "unreadable_residents": counted.unreadable})
    return ImpactReport(generated_at=clock.now(), k=k, months=list(window.months),
                        notes=list(NOTES), tables=tables)


def impact_report(session: Session, *, vault: Vault, actor: Actor, clock: Clock = system_clock,
                  zone: ZoneInfo = ZoneInfo("UTC"), months: int = DEFAULT_MONTHS, k: int = K,
                  districts_path: Path | None = None) -> ImpactReport:
    """Every table, as data."""
    return _generate(session, vault=vault, actor=actor, clock=clock, zone=zone, months=months,
                     k=k, districts_path=districts_path, output="json", table=None)


def impact_csv(session: Session, *, vault: Vault, actor: Actor, table: str,
               clock: Clock = system_clock, zone: ZoneInfo = ZoneInfo("UTC"),
               months: int = DEFAULT_MONTHS, k: int = K,
               districts_path: Path | None = None) -> str:
    report = _generate(session, vault=vault, actor=actor, clock=clock, zone=zone, months=months,
                       k=k, districts_path=districts_path, output="csv", table=table)
    return table_csv(next(t for t in report.tables if t.id == table))


def impact_chart(session: Session, *, vault: Vault, actor: Actor, table: str,
                 clock: Clock = system_clock, zone: ZoneInfo = ZoneInfo("UTC"),
                 months: int = DEFAULT_MONTHS, k: int = K,
                 districts_path: Path | None = None) -> str:
    report = _generate(session, vault=vault, actor=actor, clock=clock, zone=zone, months=months,
                       k=k, districts_path=districts_path, output="svg", table=table)
    return table_svg(next(t for t in report.tables if t.id == table))
