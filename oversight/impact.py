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
"""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import AppError, ErrorKind, NotFound
from enrollment import service as enrollment
from enrollment.schemas import Address
from enrollment.service import age_on
from oversight import impact_repository as repository
from privacy import audit
from privacy.audit import Actor
from privacy.errors import DataKeyShredded
from privacy.vault import Vault

K = 10
DEFAULT_MONTHS, MAX_MONTHS = 12, 60
BATCH_SIZE = 1000
DISTRICTS_FILE = Path(__file__).with_name("districts.yaml")
DISTRICTS_ENV = "CITYID_DISTRICTS_PATH"
OTHER, NO_FIXED_ADDRESS = "other", "no fixed address"
# (label, youngest age). The rulebook admits no one under 10; were a city to lower its minimum
# age, younger holders would count in the first band rather than vanish from the report.
AGE_BANDS = (("10-13", 10), ("14-17", 14), ("18-24", 18), ("25-44", 25), ("45-64", 45),
             ("65+", 65))
SENIOR_BAND = "65+"
CATEGORIES = ("membership", "discount", "service")
MEASURES = {"enrollments": "Enrollments (applications created)", "cards_issued": "Cards issued",
            "redemptions": "Benefit redemptions (not voided)"}
DIMENSIONS = {"district": "district", "age_band": "age band", "designation": "designation",
              "benefit_category": "benefit category"}
VETERAN, NOT_VETERAN, SENIOR = "veteran", "not a veteran", "senior (65+)"
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


class ImpactWindowInvalid(AppError):
    kind = ErrorKind.INVALID
    code = "impact_window_invalid"
    title = f"An impact report covers 1 to {MAX_MONTHS} complete months"


class DistrictMapInvalid(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "district_map_invalid"
    title = "The ZIP code to district mapping could not be read"


# --- suppression ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowSuppression:
    cells: tuple[bool, ...]  # True: not shown
    total: bool


def suppress_row(cells: Sequence[int], total: int, *, k: int = K,
                 hidden: Collection[int] = ()) -> RowSuppression:
    """Which cells of a row, and whether its total, to withhold. ``cells`` add up to ``total``;
    ``hidden`` names cells that are never published (the complement of a designation), which a
    reader does not see but must not be able to work out either when they are under k.

    1. A total under k is withheld, and with it every cell (each is at most the total).
    2. Every published cell under k is withheld, zero included.
    3. While the total and the cells shown reveal an unknown cell (exactly one unknown cell that
       is withheld or under k, or unknown cells that must add up to zero), withhold the smallest
       cell still shown, the leftmost on a tie, and look again.

    For one row of counts this is exact: with two or more unknown cells whose sum is positive,
    each could take more than one value."""
    if k < 1:
        raise ValueError("k must be at least 1")
    if min(cells, default=0) < 0 or sum(cells) != total:
        raise ValueError("a row's cells must be counts that add up to its total")
    never = frozenset(hidden)
    withheld = {i for i, value in enumerate(cells) if value < k and i not in never}
    if total < k:
        return RowSuppression(tuple(True for _ in cells), True)
    while True:
        unknown = withheld | never
        if len(unknown) == 1:
            (only,) = unknown
            exposed = only in withheld or cells[only] < k
        else:
            exposed = bool(unknown) and sum(cells[i] for i in unknown) == 0
        if not exposed:
            return RowSuppression(tuple(i in unknown for i in range(len(cells))), False)
        shown = [i for i in range(len(cells)) if i not in unknown]
        if not shown:  # unreachable while the cells add up to a total of at least k
            return RowSuppression(tuple(True for _ in cells), True)
        withheld.add(min(shown, key=lambda i: (cells[i], i)))


# --- districts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictMap:
    names: tuple[str, ...]
    zips: Mapping[str, str]
    prefixes: Mapping[str, str]

    @property
    def groups(self) -> tuple[str, ...]:
        return (*self.names, OTHER, NO_FIXED_ADDRESS)

    def district_of(self, address: Address | None) -> str:
        if address is None:  # no address, or a care-of address
            return NO_FIXED_ADDRESS
        zip5 = address.postal_code[:5]
        if zip5 in self.zips:
            return self.zips[zip5]
        for length in range(4, 0, -1):
            if zip5[:length] in self.prefixes:
                return self.prefixes[zip5[:length]]
        return OTHER


def load_districts(path: Path | None = None) -> DistrictMap:
    """The mapping at ``path``; else at $CITYID_DISTRICTS_PATH; else the shipped one."""
    chosen = path or Path(os.environ.get(DISTRICTS_ENV) or DISTRICTS_FILE)
    try:
        return _parse_districts(str(chosen.resolve()), chosen.stat().st_mtime_ns)
    except OSError:
        raise DistrictMapInvalid("The ZIP code to district mapping file is missing") from None


@lru_cache(maxsize=4)
def _parse_districts(path: str, _mtime: int) -> DistrictMap:
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["districts"]
        names: list[str] = []
        zips: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for entry in entries:
            name = str(entry["name"]).strip()
            if not name or name in (*names, OTHER, NO_FIXED_ADDRESS):
                raise ValueError(name)
            names.append(name)
            for key, pattern, target in (("zips", r"[0-9]{5}", zips),
                                         ("prefixes", r"[0-9]{1,4}", prefixes)):
                for code in entry.get(key) or ():
                    code = str(code)
                    if not re.fullmatch(pattern, code) or code in target:
                        raise ValueError(code)
                    target[code] = name
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError):
        raise DistrictMapInvalid("The ZIP code to district mapping has an invalid, duplicate "
                                 "or missing entry") from None
    return DistrictMap(tuple(names), zips, prefixes)


# --- counting -------------------------------------------------------------------------------


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


# --- tables ---------------------------------------------------------------------------------


class ImpactCell(BaseModel):
    value: int | None
    suppressed: bool


class ImpactRow(BaseModel):
    month: str
    cells: list[ImpactCell]
    total: ImpactCell | None


class ImpactTable(BaseModel):
    id: str
    title: str
    measure: str | None
    dimension: str | None
    columns: list[str]
    total_label: str | None
    chart: Literal["stacked", "grouped"]
    rows: list[ImpactRow]


class ImpactReport(BaseModel):
    generated_at: datetime
    k: int
    months: list[str]
    notes: list[str]
    tables: list[ImpactTable]


def table_ids() -> list[str]:
    ids = ["monthly"]
    for measure in MEASURES:
        extra = ("benefit_category",) if measure == "redemptions" else ()
        ids += [f"{measure}_by_{d}" for d in ("district", "age_band", *extra, "designation")]
    return ids


def _cell(value: int, withheld: bool) -> ImpactCell:
    return ImpactCell(value=None if withheld else value, suppressed=withheld)


def build_tables(counted: Tally, window: Window, districts: DistrictMap, *,
                 k: int = K) -> list[ImpactTable]:
    counts = counted.counts
    tables = [ImpactTable(
        id="monthly", title="Enrollments, cards issued and redemptions per month",
        measure=None, dimension=None, columns=list(MEASURES), total_label=None, chart="grouped",
        rows=[ImpactRow(month=month, total=None,
                        cells=[_cell(n, n < k) for n in (counts[m, month, "", ""]
                                                          for m in MEASURES)])
              for month in window.months])]
    ages = tuple(label for label, _ in AGE_BANDS)
    for measure, title in MEASURES.items():
        groups = {"district": districts.groups, "age_band": ages}
        if measure == "redemptions":
            groups["benefit_category"] = counted.categories
        rows: dict[str, list[ImpactRow]] = {d: [] for d in (*groups, "designation")}
        for month in window.months:
            total = counts[measure, month, "", ""]
            for dimension, names in groups.items():
                values = [counts[measure, month, dimension, g] for g in names]
                hide = suppress_row(values, total, k=k)
                rows[dimension].append(ImpactRow(
                    month=month, cells=[_cell(v, w) for v, w in zip(values, hide.cells,
                                                                    strict=True)],
                    total=_cell(total, hide.total)))
            # Seniors are the 65+ age band, withheld exactly where that table withholds them.
            # The non-veterans are never shown, but they count as a cell to protect.
            veterans = [counts[measure, month, "designation", VETERAN],
                        counts[measure, month, "designation", NOT_VETERAN]]
            hide = suppress_row(veterans, total, k=k, hidden={1})
            seniors = rows["age_band"][-1].cells[ages.index(SENIOR_BAND)]
            rows["designation"].append(ImpactRow(
                month=month, cells=[_cell(veterans[0], hide.cells[0]), seniors],
                total=_cell(total, hide.total)))
        for dimension, dimension_rows in rows.items():
            overlap = dimension == "designation"
            tables.append(ImpactTable(
                id=f"{measure}_by_{dimension}", title=f"{title} by {DIMENSIONS[dimension]}",
                measure=measure, dimension=dimension,
                columns=[VETERAN, SENIOR] if overlap else list(groups[dimension]),
                total_label="all residents" if overlap else "total",
                chart="grouped" if overlap else "stacked", rows=dimension_rows))
    return tables


# --- CSV and SVG ----------------------------------------------------------------------------


def _spreadsheet_safe(text: str) -> str:
    """District names come from a file: never let a spreadsheet read one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def table_csv(table: ImpactTable) -> str:
    """One row per month; a withheld cell reads "suppressed", never a number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_spreadsheet_safe(h) for h in ("month", *table.columns,
                                                    *filter(None, [table.total_label]))])
    for row in table.rows:
        cells = [*row.cells, *filter(None, [row.total])]
        writer.writerow([row.month, *("suppressed" if c.suppressed else str(c.value)
                                      for c in cells)])
    return out.getvalue()


PALETTE = ("#1f6fb2", "#e07b39", "#3a9d5d", "#c23b52", "#7b5ea7", "#8c6d31", "#2a9d8f",
           "#d4a017", "#5d6d7e", "#b5651d")
WITHHELD_FILL = "#cfcfcf"
SLOT, LEFT, TOP, PLOT, KEY_WIDTH = 64, 64, 48, 240, 180


def table_svg(table: ImpactTable) -> str:
    """Bars over months. A stacked chart draws one bar per month, its height the month's total,
    made of the cells shown plus one grey part for the withheld ones together (the total less
    the cells shown, which a reader can work out anyway). A grouped chart draws one bar per
    column. Nothing withheld is drawn at its own size."""
    stacked = table.chart == "stacked"
    visible = [c.value for row in table.rows for c in ([row.total] if stacked else row.cells)
               if c is not None and c.value is not None]
    peak = max([*visible, 1])
    scale = PLOT / peak
    base = TOP + PLOT
    width = max(LEFT + SLOT * len(table.rows) + 24, LEFT + 3 * KEY_WIDTH)
    legend_rows = (len(table.columns) + 1 + 2) // 3
    height = base + 44 + 18 * legend_rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
           f"<title>{escape(table.title)}</title>",
           f'<text x="{LEFT}" y="20" font-size="14">{escape(table.title)}</text>',
           f'<line x1="{LEFT - 4}" y1="{base}" x2="{width - 16}" y2="{base}" stroke="#333"/>',
           f'<text x="{LEFT - 8}" y="{TOP + 4}" text-anchor="end">{peak}</text>',
           f'<text x="{LEFT - 8}" y="{base}" text-anchor="end">0</text>']
    for i, row in enumerate(table.rows):
        x = LEFT + i * SLOT + 8
        out.append(f'<g class="month" data-month="{row.month}">')
        if stacked and row.total is not None:
            out += _stacked_bar(row, x, base, scale)
        else:
            step = (SLOT - 16) / max(len(row.cells), 1)
            for j, cell in enumerate(row.cells):
                out.append(_rect("bar", x + j * step, base, step - 1, cell.value, scale,
                                 PALETTE[j % len(PALETTE)],
                                 f"{row.month} {table.columns[j]}: {_says(cell)}"))
        out.append(f'<text x="{x + (SLOT - 16) / 2:.1f}" y="{base + 16}" '
                   f'text-anchor="middle">{row.month}</text></g>')
    keys = [(PALETTE[j % len(PALETTE)], name) for j, name in enumerate(table.columns)]
    for j, (fill, name) in enumerate([*keys, (WITHHELD_FILL, "suppressed")]):
        x, y = LEFT + (j % 3) * KEY_WIDTH, base + 34 + (j // 3) * 18
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{fill}"/>'
                   f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _says(cell: ImpactCell) -> str:
    return "suppressed" if cell.value is None else str(cell.value)


def _rect(kind: str, x: float, base: float, width: float, value: int | None, scale: float,
          fill: str, label: str, bottom: float = 0.0, attrs: str = "") -> str:
    h = (value or 0) * scale
    return (f'<rect class="{kind}" x="{x:.1f}" y="{base - bottom - h:.1f}" width="{width:.1f}" '
            f'height="{h:.1f}" fill="{fill}"{attrs}><title>{escape(label)}</title></rect>')


def _stacked_bar(row: ImpactRow, x: float, base: float, scale: float) -> list[str]:
    assert row.total is not None
    width = SLOT - 16
    parts, bottom = [], 0.0
    for j, cell in enumerate(row.cells):
        if cell.value:
            parts.append(_rect("segment", x, base, width, cell.value, scale,
                               PALETTE[j % len(PALETTE)], str(cell.value), bottom))
            bottom += cell.value * scale
    if row.total.value is not None:
        rest = row.total.value - sum(c.value or 0 for c in row.cells)
        if rest:
            parts.append(_rect("segment withheld", x, base, width, rest, scale, WITHHELD_FILL,
                               "suppressed", bottom))
    return [*parts, _rect("bar", x, base, width, row.total.value, scale, "none",
                          f"{row.month} total: {_says(row.total)}",
                          attrs=f' stroke="#333" data-total={quoteattr(_says(row.total))}')]


# --- the service ----------------------------------------------------------------------------


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
