"""The value axis of a bar chart of counts, shared by every chart the program draws on the
server (the admin pages' redemption chart, api/web/chart.py; the impact report's SVG,
oversight/impact/output.py), so they read alike: whole-number ticks, evenly spaced, 1, 2 or 5
times a power of ten apart, the top at or above the tallest bar."""

from __future__ import annotations

from dataclasses import dataclass

NICE_STEPS = (1, 2, 5)
MAX_TICKS = 5  # gridlines above zero, at most


@dataclass(frozen=True)
class Axis:
    top: int
    step: int

    @property
    def ticks(self) -> range:
        return range(0, self.top + 1, self.step)

    def length(self, value: int | float, plot: float) -> float:
        """How long a bar of ``value`` is in a plot ``plot`` long."""
        return plot * value / self.top


def axis_for(peak: int) -> Axis:
    """The smallest whole step that reaches ``peak`` in at most MAX_TICKS steps (an empty chart
    still gets an axis of 0 to MAX_TICKS)."""
    power = 1
    while True:
        for nice in NICE_STEPS:
            step = nice * power
            if step * MAX_TICKS >= peak:
                return Axis(top=step * max(-(-peak // step), 1), step=step)
        power *= 10
