"""Program impact reports: aggregates only, small cells suppressed (oversight/impact/)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from oversight import impact
from oversight.impact import ImpactReport

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Months = Annotated[int, Query(ge=1, le=impact.MAX_MONTHS,
                              description="Complete months before the current one")]
TABLE_PATTERN = r"^[a-z_]{1,64}$"


@router.get("/impact", response_model=ImpactReport)
def impact_report(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
                  months: Months = impact.DEFAULT_MONTHS) -> ImpactReport:
    """Enrollments, cards issued and redemptions per month, by district, age band,
    designation and benefit category. Cells under 10, and cells they would reveal, are null."""
    return impact.impact_report(session, vault=runtime.vault, actor=principal.actor,
                                clock=runtime.clock,
                                zone=ZoneInfo(runtime.settings.city_timezone), months=months)


@router.get("/impact.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def impact_csv(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
               table: Annotated[str, Query(pattern=TABLE_PATTERN)],
               months: Months = impact.DEFAULT_MONTHS) -> Response:
    text = impact.impact_csv(session, vault=runtime.vault, actor=principal.actor, table=table,
                             clock=runtime.clock,
                             zone=ZoneInfo(runtime.settings.city_timezone), months=months)
    return Response(text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="impact-{table}.csv"'})


@router.get("/impact/{table}.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def impact_chart(table: Annotated[str, Path(pattern=TABLE_PATTERN)], principal: PrincipalDep,
                 session: SessionDep, runtime: RuntimeDep,
                 months: Months = impact.DEFAULT_MONTHS) -> Response:
    svg = impact.impact_chart(session, vault=runtime.vault, actor=principal.actor, table=table,
                              clock=runtime.clock,
                              zone=ZoneInfo(runtime.settings.city_timezone), months=months)
    return Response(svg, media_type="image/svg+xml")
