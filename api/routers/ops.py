from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from api import metrics
from api.deps import RuntimeDep, SessionDep
from api.errors import DATABASE_RETRY_AFTER
from cityid.db import ping
from cityid.errors import DatabaseUnavailable, Unavailable

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: SessionDep, runtime: RuntimeDep) -> dict[str, str]:
    try:
        ping(session)
    except Exception:
        raise DatabaseUnavailable(retry_after=DATABASE_RETRY_AFTER) from None
    try:
        runtime.vault.keyring  # noqa: B018 - loading is the check
    except Exception:
        raise Unavailable("The keys are not loaded.") from None
    return {"status": "ready", "database": "ok", "keys": "ok"}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics_endpoint() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
