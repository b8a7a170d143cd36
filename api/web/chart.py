"""Bar charts drawn on the server as SVG: no script, nothing fetched, readable without colour.

The geometry is computed here; templates/admin/_bars.svg.html draws it. Suppressed cells are
never counted into a bar: a month's bar is the sum of the cells the report shows, and the month
says how many cells were fewer than the threshold. The axis is cityid/chart.py's, which the
impact report's charts share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cityid.chart import axis_for
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


def month_bars(cells: Sequence[ReportCell]) -> Chart | None:
    months: dict[str, list[ReportCell]] = {}
    for cell in cells:
        months.setdefault(cell.month, []).append(cell)
    if not months:
        return None
    totals = {m: sum(c.redemptions or 0 for c in group) for m, group in months.items()}
    axis = axis_for(max(totals.values()))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bars = []
    for i, month in enumerate(sorted(months)):
        height = axis.length(totals[month], plot_h)
        bars.append(Bar(month=month, shown=totals[month],
                        suppressed_cells=sum(c.suppressed for c in months[month]),
                        x=LEFT + i * slot + slot * 0.15, y=TOP + plot_h - height,
                        width=slot * 0.7, height=height))
    ticks = [(value, TOP + plot_h - axis.length(value, plot_h)) for value in axis.ticks]
    return Chart(bars=bars, ticks=ticks)
