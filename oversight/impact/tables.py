"""The report's tables, as data: one row per month, cells withheld by the suppression rules."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from cityid.suppression import K, suppress_row
from oversight.impact.districts import DistrictMap
from oversight.impact.tally import AGE_BANDS, NOT_VETERAN, VETERAN, Tally, Window

SENIOR_BAND = "65+"
MEASURES = {"enrollments": "Enrollments (applications created)", "cards_issued": "Cards issued",
            "redemptions": "Benefit redemptions (not voided)"}
DIMENSIONS = {"district": "district", "age_band": "age band", "designation": "designation",
              "benefit_category": "benefit category"}
SENIOR = "senior (65+)"


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
