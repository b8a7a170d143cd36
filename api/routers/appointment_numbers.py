from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from appointments import numbers
from appointments.numbers import WeekCell

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/appointments", response_model=list[WeekCell])
def appointment_numbers(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
                        start: Annotated[date | None, Query(alias="from")] = None,
                        end: Annotated[date | None, Query(alias="to")] = None) -> list[WeekCell]:
    """Booked, kept, no-shows, no-show rate and lead time, per site and ISO week; cells of
    fewer appointments than the threshold are suppressed."""
    today = runtime.clock.today()
    return numbers.by_site_and_week(session, actor=principal.actor,
                                    first=start or today - timedelta(weeks=12),
                                    last=end or today + timedelta(weeks=8))
