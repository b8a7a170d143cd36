"""The program's operating numbers: aggregates only, small cells withheld (fulfilment/numbers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from fulfilment import numbers
from fulfilment.numbers import OperatingNumbers

router = APIRouter(prefix="/v1/reports", tags=["reports"])
Weeks = Annotated[int, Query(ge=1, le=numbers.MAX_WEEKS,
                             description="Complete weeks to report, ending last Sunday")]


@router.get("/operations", response_model=OperatingNumbers)
def operating_numbers(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
                      weeks: Weeks = numbers.DEFAULT_WEEKS) -> OperatingNumbers:
    return numbers.operating_numbers(session, clock=runtime.clock, actor=principal.actor,
                                     weeks=weeks)


@router.get("/operations.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def operating_numbers_csv(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
                          weeks: Weeks = numbers.DEFAULT_WEEKS) -> Response:
    report = numbers.operating_numbers(session, clock=runtime.clock, actor=principal.actor,
                                       weeks=weeks, output="csv")
    return Response(numbers.as_csv(report), media_type="text/csv", headers={
        "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="operating-numbers.csv"'})
