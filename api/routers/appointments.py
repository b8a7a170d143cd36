"""Public booking. Booking codes travel in the body, never the URL (they would land in logs)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status

from api.deps import RuntimeDep, SessionDep, client_address
from appointments import rules as booking_rules
from appointments import service as booking
from appointments.errors import InvalidBooking
from appointments.schemas import AppointmentOut, BookingIn, CodeIn, PublicSiteOut, RescheduleIn
from appointments.service import BookingDesk
from enrollment import i18n
from sites import service as sites
from sites.schemas import SlotOut

router = APIRouter(prefix="/v1/appointments", tags=["appointments"])
DAY = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


async def booking_desk(runtime: RuntimeDep) -> BookingDesk:
    # async: builds a small value, no I/O. Tests override it to change the rules.
    return BookingDesk(vault=runtime.vault, limiter=runtime.limiter, clock=runtime.clock,
                       rules=booking_rules.load_rules(), rulebook=runtime.rulebook)


DeskDep = Annotated[BookingDesk, Depends(booking_desk)]


@router.get("/sites", response_model=list[PublicSiteOut])
def public_sites(session: SessionDep) -> list[PublicSiteOut]:
    return booking.public_sites(session)


@router.get("/sites/{site_id}/slots", response_model=list[SlotOut])
def open_slots(site_id: uuid.UUID, session: SessionDep, desk: DeskDep,
               start: Annotated[str | None, Query(alias="from", pattern=DAY)] = None,
               days: Annotated[int, Query(ge=1, le=62)] = 14) -> list[SlotOut]:
    # A string with a pattern, not a date: an empty ``from=`` is refused, not read as absent.
    try:
        first = date.fromisoformat(start) if start is not None else None
    except ValueError:
        raise InvalidBooking("from is not a day of the calendar") from None
    site, found = booking.open_slots(session, clock=desk.clock, site_id=site_id, first=first,
                                     days=days)
    return [sites.slot_out(site, slot) for slot in found]


@router.post("", response_model=AppointmentOut, status_code=status.HTTP_201_CREATED)
def book(body: BookingIn, request: Request, session: SessionDep, desk: DeskDep,
         accept_language: Annotated[str | None, Header()] = None) -> AppointmentOut:
    return booking.book(session, desk=desk, data=body,
                        lang=i18n.negotiate(accept_language, body.lang),
                        client=client_address(request))


@router.post("/find", response_model=AppointmentOut)
def find(body: CodeIn, request: Request, session: SessionDep, desk: DeskDep) -> AppointmentOut:
    return booking.find(session, desk=desk, code=body.code, client=client_address(request))


@router.post("/reschedule", response_model=AppointmentOut)
def reschedule(body: RescheduleIn, request: Request, session: SessionDep,
               desk: DeskDep) -> AppointmentOut:
    return booking.reschedule(session, desk=desk, data=body, client=client_address(request))


@router.post("/cancel", response_model=AppointmentOut)
def cancel(body: CodeIn, request: Request, session: SessionDep, desk: DeskDep) -> AppointmentOut:
    return booking.cancel(session, desk=desk, code=body.code, client=client_address(request))
