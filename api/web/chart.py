"""Bar charts drawn on the server as SVG: no script, nothing fetched, readable without colour.

The geometry is computed here; templates/admin/_bars.svg.html draws it. Suppressed cells are
never counted into a bar: a month's bar is the sum of the cells the report shows, and the month
says how many cells were fewer than the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redemption.schemas import ReportCell

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 44


@dataclass(frozen=True)
class Bar:
    month: str
    shown: int
    suppressed_cells: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[tuple[int, float]]  # (value, y)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM
    right_edge: int = WIDTH - RIGHT


# Counts get whole-number ticks: the step between them is 1, 2 or 5 times a power of ten.
NICE_STEPS = (1, 2, 5)
MAX_TICKS = 5  # gridlines above zero, at most


def _scale(peak: int) -> tuple[int, int]:
    """The axis top and the step between ticks: the smallest whole step that reaches ``peak``
    in at most MAX_TICKS steps (an empty chart still gets an axis of 0 to MAX_TICKS)."""
    power = 1
    while True:
        for nice in NICE_STEPS:
            step = nice * power
            if step * MAX_TICKS >= peak:
                return step * max(-(-peak // step), 1), step
        power *= 10


def month_bars(cells: Sequence[ReportCell]) -> Chart | None:
    months: dict[str, list[ReportCell]] = {}
    for cell in cells:
        months.setdefault(cell.month, []).append(cell)
    if not months:
        return None
    totals = {m: sum(c.redemptions or 0 for c in group) for m, group in months.items()}
    top, step = _scale(max(totals.values()))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bars = []
    for i, month in enumerate(sorted(months)):
        height = plot_h * totals[month] / top
        bars.append(Bar(month=month, shown=totals[month],
                        suppressed_cells=sum(c.suppressed for c in months[month]),
                        x=LEFT + i * slot + slot * 0.15, y=TOP + plot_h - height,
                        width=slot * 0.7, height=height))
    ticks = [(value, TOP + plot_h - plot_h * value / top)
             for value in range(0, top + 1, step)]
    return Chart(bars=bars, ticks=ticks)
