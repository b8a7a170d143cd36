"""The pages' own style sheet and scripts, served by the app: the strict Content-Security-Policy
lets the browser load nothing from anywhere else."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.access import PUBLIC, Rule
from api.web import pages

router = APIRouter(route_class=pages.WebRoute, tags=["web: assets"])
ACCESS: dict[tuple[str, str], Rule] = {("GET", "/static/{name}"): PUBLIC}

STATIC_DIR = Path(__file__).with_name("static")
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@lru_cache(maxsize=1)
def files() -> dict[str, tuple[bytes, str]]:
    """Every asset by name, read once: a name from a URL only ever selects from this list."""
    return {path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
            for path in sorted(STATIC_DIR.iterdir()) if path.suffix in MEDIA_TYPES}


@lru_cache(maxsize=1)
def version() -> str:
    """Changes whenever an asset does, so pages can link assets with a long cache lifetime."""
    digest = hashlib.sha256()
    for name, (body, _) in files().items():
        digest.update(name.encode() + b"\0" + body)
    return digest.hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{name}?v={version()}"


pages.templates.env.globals["static"] = static_url


@router.get("/static/{name}")
def asset(name: str) -> Response:
    found = files().get(name)
    if found is None:
        raise StarletteHTTPException(404)
    body, media_type = found
    return Response(body, media_type=media_type,
                    headers={"cache-control": "public, max-age=31536000, immutable"})
