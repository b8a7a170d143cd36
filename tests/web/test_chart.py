"""The report chart's axis counts in whole numbers, evenly spaced, up to at least the tallest
bar."""

from __future__ import annotations

from itertools import pairwise

import pytest

from api.web.chart import month_bars
from redemption.schemas import ReportCell


@pytest.mark.parametrize("peak", [1, 3, 7, 10, 12, 26, 30, 99, 101, 1234])
def test_the_axis_ticks_are_whole_evenly_spaced_and_reach_the_peak(peak: int) -> None:
    chart = month_bars([ReportCell(partner="Museum", benefit="Pass", month="2026-05",
                                   redemptions=peak, suppressed=False),
                        ReportCell(partner="Museum", benefit="Pass", month="2026-06",
                                   redemptions=max(peak // 2, 1), suppressed=False)])
    assert chart is not None
    values = [value for value, _ in chart.ticks]
    steps = {b - a for a, b in pairwise(values)}
    assert values[0] == 0 and values[-1] >= peak and len(steps) == 1, values
    assert 2 <= len(values) <= 6, values
    assert all(isinstance(v, int) for v in values)
    # The tallest bar stands exactly as high as its count on the axis.
    top_y = chart.ticks[-1][1]
    tallest = max(chart.bars, key=lambda b: b.shown)
    expected = (chart.baseline - top_y) * tallest.shown / values[-1]
    assert tallest.height == pytest.approx(expected)


def test_ten_redemptions_read_zero_two_four_six_eight_ten() -> None:
    chart = month_bars([ReportCell(partner="Zoo", benefit="Pass", month="2026-06",
                                   redemptions=10, suppressed=False)])
    assert chart is not None
    assert [value for value, _ in chart.ticks] == [0, 2, 4, 6, 8, 10]
