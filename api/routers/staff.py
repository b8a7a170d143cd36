from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from cityid.roles import Role
from staff import service as staff_service
from staff.models import StaffAccount
from staff.schemas import StaffCreate, StaffOut, StaffUpdate

router = APIRouter(prefix="/v1/staff", tags=["staff"])


def _out(account: StaffAccount) -> StaffOut:
    return StaffOut(id=account.id, username=account.username, role=Role(account.role),
                    active=account.active, created_at=account.created_at)


@router.get("", response_model=list[StaffOut])
def list_staff(_: PrincipalDep, session: SessionDep) -> list[StaffOut]:
    return [_out(a) for a in staff_service.list_accounts(session)]


@router.post("", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
def create_staff(body: StaffCreate, principal: PrincipalDep, session: SessionDep,
                 runtime: RuntimeDep) -> StaffOut:
    account = staff_service.create_account(session, actor=principal.actor, username=body.username,
                                           password=body.password, role=body.role,
                                           clock=runtime.clock)
    return _out(account)


@router.patch("/{staff_id}", response_model=StaffOut)
def update_staff(staff_id: uuid.UUID, body: StaffUpdate, principal: PrincipalDep,
                 session: SessionDep, runtime: RuntimeDep) -> StaffOut:
    account = staff_service.update_account(session, actor=principal.actor, staff_id=staff_id,
                                           active=body.active, role=body.role, clock=runtime.clock)
    return _out(account)
