"""The operating numbers as a page: a chart of applications per week and the tables, all from
fulfilment/numbers.py, small cells withheld. Drawn on the server as SVG, no script."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.access import ADMIN, AUDITOR, SUPERVISOR, Rule, only
from api.deps import RuntimeDep, SessionDep
from api.web import pages
from fulfilment import numbers

router = APIRouter(route_class=pages.WebRoute, tags=["web: administration"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/admin/operations"): only(SUPERVISOR, ADMIN, AUDITOR),
}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 260, 48, 48, 16


@dataclass(frozen=True)
class WeekBar:
    week: str
    shown: int
    withheld_cells: int
    x: float
    y: float
    width: float
    height: float


def _bars(totals: list[tuple[str, int, int]]) -> list[WeekBar]:
    peak = max((shown for _, shown, _ in totals), default=0) or 1
    slot = (WIDTH - LEFT - 12) / max(1, len(totals))
    usable = HEIGHT - BOTTOM - TOP
    bars = []
    for i, (week, shown, withheld) in enumerate(totals):
        height = usable * shown / peak
        bars.append(WeekBar(week=week, shown=shown, withheld_cells=withheld,
                            x=LEFT + i * slot + slot * 0.15, y=HEIGHT - BOTTOM - height,
                            width=slot * 0.7, height=height))
    return bars


@router.get("/admin/operations")
def operations_page(request: Request, principal: pages.StaffPage, session: SessionDep,
                    runtime: RuntimeDep) -> Response:
    report = numbers.operating_numbers(session, clock=runtime.clock, actor=principal.actor,
                                       output="page")
    return pages.render(request, "admin/operations.html", {
        "report": report, "bars": _bars(numbers.weekly_totals(report)),
        "chart": {"width": WIDTH, "height": HEIGHT, "left": LEFT,
                  "baseline": HEIGHT - BOTTOM}})
