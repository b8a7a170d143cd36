"""Key ceremonies: one admin starts, another approves, the first exports (staff/ceremony.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from staff import ceremony
from staff.models import KeyCeremony
from staff.schemas import StrictModel

router = APIRouter(prefix="/v1/key-ceremonies", tags=["keys"])


class CeremonyStart(StrictModel):
    kind: Literal["verifier_export", "keyring_export"]
    # The partner that receives the verifier keys; none for a keyring export.
    partner_id: uuid.UUID | None = None


class CeremonyOut(BaseModel):
    id: uuid.UUID
    kind: str
    partner_id: uuid.UUID | None
    started_at: datetime
    approved_at: datetime | None
    used_at: datetime | None


def _out(found: KeyCeremony) -> CeremonyOut:
    return CeremonyOut(id=found.id, kind=found.kind, partner_id=found.recipient_id,
                       started_at=found.started_at, approved_at=found.approved_at,
                       used_at=found.used_at)


@router.post("", response_model=CeremonyOut, status_code=status.HTTP_201_CREATED)
def start_ceremony(body: CeremonyStart, principal: PrincipalDep, session: SessionDep,
                   runtime: RuntimeDep) -> CeremonyOut:
    return _out(ceremony.start(session, actor=principal.actor, kind=body.kind,
                               recipient_id=body.partner_id, clock=runtime.clock))


@router.post("/{ceremony_id}/approve", response_model=CeremonyOut)
def approve_ceremony(ceremony_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                     runtime: RuntimeDep) -> CeremonyOut:
    return _out(ceremony.approve(session, actor=principal.actor, ceremony_id=ceremony_id,
                                 clock=runtime.clock))
