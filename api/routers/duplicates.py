from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from enrollment import duplicates
from enrollment.schemas import DuplicateOut, DuplicateResolutionIn

router = APIRouter(prefix="/v1/duplicates", tags=["applications"])


@router.get("", response_model=list[DuplicateOut])
def queue(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> list[DuplicateOut]:
    return duplicates.list_duplicates(session, desk=runtime.enrollment, actor=principal.actor)


@router.post("/{flag_id}/resolve", response_model=DuplicateOut)
def resolve(flag_id: uuid.UUID, body: DuplicateResolutionIn, principal: PrincipalDep,
            session: SessionDep, runtime: RuntimeDep) -> DuplicateOut:
    return duplicates.resolve_duplicate(session, desk=runtime.enrollment, actor=principal.actor,
                                        flag_id=flag_id, resolution=body.resolution)
