"""Aggregate reports for administrators. Small cells are suppressed so no one can be picked
out of a count."""

from __future__ import annotations

from sqlalchemy.orm import Session

from redemption import repository
from redemption.schemas import ReportCell

MIN_CELL = 10


def redemptions_by_month(session: Session, *, min_cell: int = MIN_CELL) -> list[ReportCell]:
    cells = []
    for partner, benefit, month, count in repository.monthly_counts(session):
        hidden = count < min_cell
        cells.append(ReportCell(partner=partner, benefit=benefit, month=month,
                                redemptions=None if hidden else count, suppressed=hidden))
    return cells
