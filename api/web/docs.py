"""The API's interactive documentation (Swagger UI) at /docs, served entirely by the app.

FastAPI's own /docs loads Swagger UI from a CDN with an inline script, which the pages' strict
Content-Security-Policy forbids and which would let a third party run script on the staff
origin. Here the assets come from the ``fastapi-offline`` package (a vendored swagger-ui-dist),
the start-up script is one of the pages' own static files, and the page gets the same security
headers as every other page.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from api.access import PUBLIC, Rule
from api.web import pages
from api.web.assets import static_url

router = APIRouter(route_class=pages.WebRoute, tags=["web: documentation"])
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/assets/{name}"): PUBLIC,
}

ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
          "swagger-ui.css": "text/css; charset=utf-8"}


@lru_cache(maxsize=1)
def _assets() -> dict[str, bytes]:
    folder = resources.files("fastapi_offline").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in ASSETS}


def asset_url(name: str) -> str:
    # The package's version names the files' contents, for a long cache lifetime.
    from importlib.metadata import version

    return f"/docs/assets/{name}?v={version('fastapi-offline')}"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cityid API</title>
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{bundle}"></script>
<script src="{start}"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE.format(css=asset_url("swagger-ui.css"),
                                    bundle=asset_url("swagger-ui-bundle.js"),
                                    start=static_url("swagger-start.js")))


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise StarletteHTTPException(404)
    return Response(_assets()[name], media_type=media_type,
                    headers={"cache-control": "public, max-age=31536000, immutable"})
