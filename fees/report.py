"""The fee totals an administrator reads: per kind of issue (and currency), how many fees were
paid, are still due, were not charged, or were waived under each reason code, with the cents
each counts. Aggregates only, from a table that holds no personal data; small cells are
withheld the way the impact tables withhold them (cityid/suppression.py), so no count under k
can be read or worked out from a row's total and the cells shown.

A row shows no total in cents: with the cents of the cells shown, it would give away the cents
of the cells withheld, and from one price, their counts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.suppression import K, suppress_row
from fees import repository
from fees import schedule as fee_schedule
from fees.models import FeeStatus
from fees.schemas import FeeCell, FeeReport, FeeRow
from privacy import audit
from privacy.audit import Actor

NOTES = [
    "Every fee the program computed since fees were kept, by the kind of card issue.",
    "A count under k is withheld, and so is any count that the row's total and the counts "
    "shown would give away; a withheld count's cents are withheld with it.",
    "Paid counts the cents collected; due, waived and none due count the cents asked.",
]


def outcome_of(status: str, waiver_code: str | None) -> str:
    return f"waived:{waiver_code}" if status == FeeStatus.WAIVED else status


def fee_report(session: Session, *, clock: Clock, actor: Actor, k: int = K,
               output: str = "json") -> FeeReport:
    reasons = sorted(fee_schedule.schedule().waiver_reasons)
    counts: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for kind, currency, status, waiver, n, cents in repository.totals(session):
        cells = counts.setdefault((kind, currency), {})
        outcome = outcome_of(status, waiver)
        seen_n, seen_cents = cells.get(outcome, (0, 0))
        cells[outcome] = (seen_n + n, seen_cents + cents)
    # Every reason on today's list has a column, and so does one a record still carries after
    # the list changed.
    waived = sorted({o for cells in counts.values() for o in cells if o.startswith("waived:")}
                    | {f"waived:{r}" for r in reasons})
    outcomes = [FeeStatus.PAID.value, FeeStatus.DUE.value, FeeStatus.NONE_DUE.value, *waived]
    rows = []
    for (kind, currency), cells in sorted(counts.items()):
        values = [cells.get(o, (0, 0))[0] for o in outcomes]
        hide = suppress_row(values, sum(values), k=k)
        rows.append(FeeRow(
            kind=kind, currency=currency,
            total=None if hide.total else sum(values), total_suppressed=hide.total,
            cells=[FeeCell(outcome=o, count=None if hidden else cells.get(o, (0, 0))[0],
                           amount_cents=None if hidden else cells.get(o, (0, 0))[1],
                           suppressed=hidden)
                   for o, hidden in zip(outcomes, hide.cells, strict=True)]))
    audit.record(session, actor=actor, action="report.fees", clock=clock,
                 detail={"output": output, "k": k})
    return FeeReport(k=k, outcomes=outcomes, rows=rows, notes=NOTES)
