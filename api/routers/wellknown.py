"""Public, cacheable publications that offline verifiers download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import RuntimeDep, SessionDep
from idcard import service as cards
from idcard.statuslist import TYP
from privacy import anchor

router = APIRouter(prefix="/.well-known/cityid", tags=["verification"])


@router.get("/jwks.json")
def jwks(session: SessionDep, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return cards.published_keys(session, desk=runtime.cards)


@router.get("/status-list", response_class=Response,
            responses={200: {"content": {TYP: {}}}})
def status_list(session: SessionDep, runtime: RuntimeDep) -> Response:
    document, valid_until = cards.status_list(session, desk=runtime.cards)
    max_age = max(0, int((valid_until - runtime.clock.now()).total_seconds() // 2))
    return Response(document, media_type=TYP, headers={
        "Cache-Control": f"public, max-age={min(max_age, 3600)}",
        "Expires": valid_until.strftime("%a, %d %b %Y %H:%M:%S GMT")})


@router.get("/audit-head")
def audit_head(session: SessionDep, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    """The newest signed head of the audit chain: copy it somewhere append-only, and
    `cityid audit verify --anchors` later proves the chain was not rewritten or cut behind it."""
    publisher = runtime.audit_publisher
    head = anchor.latest_head(session, publisher.signing)
    age = (runtime.clock.now() - head.published_at).total_seconds()
    fresh_for = max(0, int(publisher.every.total_seconds() - age))
    response.headers["Cache-Control"] = f"public, max-age={min(fresh_for, 3600)}"
    return head.public()
