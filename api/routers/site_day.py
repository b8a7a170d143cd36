"""The clerk's day at a site: appointments, check-in, walk-ins, no-shows, applications."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from appointments import day as desk_day
from appointments import rules as booking_rules
from appointments.schemas import (
    ApplicationStartOut,
    DayAppointmentOut,
    DayOut,
    NoShowResult,
    WalkInIn,
    WalkInOut,
)
from enrollment.schemas import ApplicationCreate

router = APIRouter(prefix="/v1/sites/{site_id}", tags=["sites: the day"])


async def day_desk(runtime: RuntimeDep) -> desk_day.DayDesk:
    return desk_day.DayDesk(vault=runtime.vault, clock=runtime.clock,
                            rules=booking_rules.load_rules())


DayDeskDep = Annotated[desk_day.DayDesk, Depends(day_desk)]


@router.get("/day", response_model=DayOut)
def the_day(site_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, desk: DayDeskDep,
            on: Annotated[date | None, Query(alias="date")] = None) -> DayOut:
    return desk_day.day(session, desk=desk, actor=principal.actor, site_id=site_id, on=on)


@router.post("/appointments/{appointment_id}/check-in", response_model=DayAppointmentOut)
def check_in(site_id: uuid.UUID, appointment_id: uuid.UUID, principal: PrincipalDep,
             session: SessionDep, desk: DayDeskDep) -> DayAppointmentOut:
    return desk_day.check_in(session, desk=desk, actor=principal.actor, site_id=site_id,
                             appointment_id=appointment_id)


@router.post("/appointments/{appointment_id}/application", response_model=ApplicationStartOut,
             status_code=status.HTTP_201_CREATED)
def start_application(site_id: uuid.UUID, appointment_id: uuid.UUID, body: ApplicationCreate,
                      principal: PrincipalDep, session: SessionDep, desk: DayDeskDep,
                      runtime: RuntimeDep) -> ApplicationStartOut:
    started = desk_day.start_application(
        session, desk=desk, enrollment_desk=runtime.enrollment, actor=principal.actor,
        site_id=site_id, appointment_id=appointment_id, data=body)
    return ApplicationStartOut(application=started.application, language=started.language,
                               interpreter=started.interpreter,
                               interpreter_language=started.interpreter_language)


@router.post("/no-shows", response_model=NoShowResult)
def release_no_shows(site_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                     desk: DayDeskDep) -> NoShowResult:
    return desk_day.release_no_shows(session, desk=desk, actor=principal.actor, site_id=site_id)


@router.post("/walk-ins", response_model=WalkInOut, status_code=status.HTTP_201_CREATED)
def add_walk_in(site_id: uuid.UUID, body: WalkInIn, principal: PrincipalDep,
                session: SessionDep, desk: DayDeskDep) -> WalkInOut:
    return desk_day.add_walk_in(session, desk=desk, actor=principal.actor, site_id=site_id,
                                data=body)


@router.post("/walk-ins/{walk_in_id}/served", response_model=WalkInOut)
def serve_walk_in(site_id: uuid.UUID, walk_in_id: uuid.UUID, principal: PrincipalDep,
                  session: SessionDep, desk: DayDeskDep) -> WalkInOut:
    return desk_day.serve_walk_in(session, desk=desk, actor=principal.actor, site_id=site_id,
                                  walk_in_id=walk_in_id)
