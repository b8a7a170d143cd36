from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import PrincipalDep, SessionDep
from privacy import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class ChainReportOut(BaseModel):
    ok: bool
    entries: int
    problem: str | None
    seq: int | None
    waiting: int
    oldest_waiting: datetime | None


@router.get("/verify", response_model=ChainReportOut)
def verify(_: PrincipalDep, session: SessionDep) -> ChainReportOut:
    report = audit.verify_chain(session)
    return ChainReportOut(ok=report.ok, entries=report.entries, problem=report.problem,
                          seq=report.seq, waiting=report.waiting,
                          oldest_waiting=report.oldest_waiting)
