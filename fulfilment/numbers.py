"""The operating numbers a city council asks for: applications by state and week, time to a
decision and to a card in hand (median and 90th percentile), denials by reason, cards returned
undeliverable, per site. Aggregates only, from columns that hold no personal data; a cell
counting fewer than K is withheld, as in the other program reports.

Only complete weeks (Monday to Sunday, UTC) are reported: a week under way changes by the hour,
and two reports an hour apart would single out whoever applied in between.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy.orm import Session

from cityid.clock import Clock
from fulfilment import repository
from privacy import audit
from privacy.audit import Actor

K = 10
DEFAULT_WEEKS, MAX_WEEKS = 12, 104


class CountCell(BaseModel):
    key: dict[str, str]
    count: int | None  # None when withheld
    suppressed: bool


class Durations(BaseModel):
    key: dict[str, str]
    n: int | None
    median_hours: float | None
    p90_hours: float | None
    suppressed: bool


class OperatingNumbers(BaseModel):
    weeks: list[str]  # the Mondays of the complete weeks reported
    from_date: date
    to_date: date  # exclusive
    k: int
    applications_by_state_and_week: list[CountCell]
    time_to_decision: list[Durations]
    time_to_card_in_hand: list[Durations]
    denials_by_reason: list[CountCell]
    undeliverable_by_site: list[CountCell]
    notes: list[str]


NOTES = [
    "Weeks run Monday to Sunday (UTC); only complete weeks are reported.",
    "A cell under k is withheld, and so are durations measured over fewer than k cases.",
    "Time to a card in hand ends when the card was picked up, or for a mailed card that did "
    "not come back, when it was mailed: the last moment the program knows of.",
    "Applications carry no site until sites exist; cards are counted at the site they were "
    "queued at.",
]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _cell(key: dict[str, str], count: int, k: int) -> CountCell:
    hidden = count < k
    return CountCell(key=key, count=None if hidden else count, suppressed=hidden)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    # The nearest-rank method: a figure that is one of the cases, never between two.
    rank = max(1, int(-(-q * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def _durations(key: dict[str, str], hours: Sequence[float], k: int) -> Durations:
    if len(hours) < k:
        return Durations(key=key, n=None, median_hours=None, p90_hours=None, suppressed=True)
    return Durations(key=key, n=len(hours), median_hours=round(statistics.median(hours), 1),
                     p90_hours=round(_percentile(hours, 0.9), 1), suppressed=False)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def operating_numbers(session: Session, *, clock: Clock, actor: Actor,
                      weeks: int = DEFAULT_WEEKS, k: int = K,
                      output: str = "json") -> OperatingNumbers:
    end = _monday(clock.today())
    start = end - timedelta(weeks=weeks)
    since = datetime.combine(start, time(0), tzinfo=UTC)
    until = datetime.combine(end, time(0), tzinfo=UTC)

    by_state: Counter[tuple[str, str]] = Counter()
    denials: Counter[str] = Counter()
    to_decision: list[float] = []
    for created, status, decided, reason in repository.applications_between(session, since,
                                                                            until):
        by_state[(_monday(created.date()).isoformat(), status)] += 1
        if status == "denied" and reason:
            denials[reason] += 1
        if decided is not None and decided < until:
            to_decision.append(_hours(created, decided))

    in_hand: dict[str, list[float]] = {}
    returned: Counter[str] = Counter()
    for created, site, mailed, returned_at, picked, lost in repository.fulfilments_between(
            session, since, until):
        if returned_at is not None and returned_at < until:
            returned[site] += 1
        done = picked or (mailed if returned_at is None and lost is None else None)
        if done is not None and done < until:
            in_hand.setdefault(site, []).append(_hours(created, done))

    numbers = OperatingNumbers(
        weeks=[(start + timedelta(weeks=i)).isoformat() for i in range(weeks)],
        from_date=start, to_date=end, k=k,
        applications_by_state_and_week=[
            _cell({"week": week, "state": state}, n, k)
            for (week, state), n in sorted(by_state.items())],
        time_to_decision=[_durations({}, to_decision, k)],
        time_to_card_in_hand=[_durations({"site": site}, hours, k)
                              for site, hours in sorted(in_hand.items())]
        + [_durations({"site": "all"}, [h for hs in in_hand.values() for h in hs], k)],
        denials_by_reason=[_cell({"reason": r}, n, k) for r, n in sorted(denials.items())],
        undeliverable_by_site=[_cell({"site": s}, n, k) for s, n in sorted(returned.items())],
        notes=NOTES)
    audit.record(session, actor=actor, action="report.operations", clock=clock,
                 detail={"output": output, "weeks": weeks, "k": k})
    return numbers


def as_csv(numbers: OperatingNumbers) -> str:
    """Every table as rows of one CSV: table, key, value columns; withheld cells say so."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "week", "state", "reason", "site", "count", "n", "median_hours",
                     "p90_hours", "suppressed"])

    def key(cell: CountCell | Durations) -> list[str]:
        return [cell.key.get(k, "") for k in ("week", "state", "reason", "site")]

    for name in ("applications_by_state_and_week", "denials_by_reason",
                 "undeliverable_by_site"):
        for cell in getattr(numbers, name):
            writer.writerow([name, *key(cell), "" if cell.count is None else cell.count,
                             "", "", "", "yes" if cell.suppressed else "no"])
    for name in ("time_to_decision", "time_to_card_in_hand"):
        for durations in getattr(numbers, name):
            writer.writerow([name, *key(durations), "",
                             *("" if v is None else v for v in (
                                 durations.n, durations.median_hours, durations.p90_hours)),
                             "yes" if durations.suppressed else "no"])
    return out.getvalue()


def weekly_totals(numbers: OperatingNumbers) -> list[tuple[str, int, int]]:
    """Per week, the applications the report shows and how many cells it withheld: a chart's
    bar never counts a withheld cell."""
    shown: Counter[str] = Counter()
    withheld: Counter[str] = Counter()
    for cell in numbers.applications_by_state_and_week:
        week = cell.key["week"]
        if cell.count is None:
            withheld[week] += 1
        else:
            shown[week] += cell.count
    return [(week, shown[week], withheld[week]) for week in numbers.weeks]
