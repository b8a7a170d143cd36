"""Which cells of a report's row to withhold, so that no count under k can be read or worked out
from the cells and totals shown. In the kernel because reports at every height use it: the
impact tables (oversight/impact) and the fee totals (fees/report.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

K = 10


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
