"""Enrollment centres, for administrators: set up, change, close a day, make slots, staff."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from appointments import repository as appointment_repository
from sites import rules as site_rules
from sites import service as sites
from sites.schemas import (
    ClosureIn,
    ClosureResult,
    GenerateIn,
    GenerateOut,
    SiteCreate,
    SiteOut,
    SiteUpdate,
    StaffSiteIn,
    StaffSitesOut,
)

router = APIRouter(prefix="/v1/sites", tags=["sites"])


@router.get("", response_model=list[SiteOut])
def list_sites(_: PrincipalDep, session: SessionDep) -> list[SiteOut]:
    return sites.list_sites(session)


@router.post("", response_model=SiteOut, status_code=status.HTTP_201_CREATED)
def create_site(body: SiteCreate, principal: PrincipalDep, session: SessionDep,
                runtime: RuntimeDep) -> SiteOut:
    return sites.create_site(session, actor=principal.actor, data=body,
                             rules=site_rules.load_rules(), clock=runtime.clock)


@router.get("/{site_id}", response_model=SiteOut)
def get_site(site_id: uuid.UUID, _: PrincipalDep, session: SessionDep) -> SiteOut:
    return sites.site_out(session, sites.get_site(session, site_id))


@router.patch("/{site_id}", response_model=SiteOut)
def update_site(site_id: uuid.UUID, body: SiteUpdate, principal: PrincipalDep,
                session: SessionDep, runtime: RuntimeDep) -> SiteOut:
    return sites.update_site(session, actor=principal.actor, site_id=site_id, data=body,
                             rules=site_rules.load_rules(), clock=runtime.clock)


@router.post("/{site_id}/closures", response_model=ClosureResult,
             status_code=status.HTTP_201_CREATED)
def close_day(site_id: uuid.UUID, body: ClosureIn, principal: PrincipalDep, session: SessionDep,
              runtime: RuntimeDep) -> ClosureResult:
    booked = appointment_repository.held_slot_ids(session, site_id, body.day)
    return sites.add_closure(session, actor=principal.actor, site_id=site_id, data=body,
                             rules=site_rules.load_rules(), clock=runtime.clock, booked=booked)


@router.post("/{site_id}/slots", response_model=GenerateOut)
def generate_slots(site_id: uuid.UUID, body: GenerateIn, principal: PrincipalDep,
                   session: SessionDep, runtime: RuntimeDep) -> GenerateOut:
    created, through = sites.generate_slots(session, actor=principal.actor, site_id=site_id,
                                            rules=site_rules.load_rules(), clock=runtime.clock,
                                            through=body.through)
    return GenerateOut(created=created, through=through)


@router.get("/{site_id}/staff", response_model=StaffSitesOut)
def site_staff(site_id: uuid.UUID, _: PrincipalDep, session: SessionDep) -> StaffSitesOut:
    return StaffSitesOut(site_id=site_id, staff_ids=sites.staff_sites(session, site_id))


@router.post("/{site_id}/staff", response_model=StaffSitesOut)
def assign_staff(site_id: uuid.UUID, body: StaffSiteIn, principal: PrincipalDep,
                 session: SessionDep, runtime: RuntimeDep) -> StaffSitesOut:
    return StaffSitesOut(site_id=site_id, staff_ids=sites.assign_staff(
        session, actor=principal.actor, site_id=site_id, staff_id=body.staff_id,
        clock=runtime.clock))


@router.delete("/{site_id}/staff/{staff_id}", response_model=StaffSitesOut)
def unassign_staff(site_id: uuid.UUID, staff_id: uuid.UUID, principal: PrincipalDep,
                   session: SessionDep, runtime: RuntimeDep) -> StaffSitesOut:
    return StaffSitesOut(site_id=site_id, staff_ids=sites.unassign_staff(
        session, actor=principal.actor, site_id=site_id, staff_id=staff_id, clock=runtime.clock))
