"""The app factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI

from api import lean, lean_redeem
from api.access import MATRIX, Matrix, merged
from api.deps import authorize
from api.errors import install_error_handlers, route_methods
from api.lean import LeanVerifyMiddleware
from api.middleware import (
    AccessLogMiddleware,
    InFlightLimitMiddleware,
    NoStoreMiddleware,
    PrivacyGuardMiddleware,
)
from api.openapi import all_routes, build_openapi
from api.routers import (
    applications,
    appointment_numbers,
    appointments,
    audit,
    auth,
    cards,
    corrections,
    duplicates,
    fees,
    fulfilment,
    holder,
    impact,
    key_ceremonies,
    operations,
    ops,
    oversight,
    partner,
    partners,
    reference_lookup,
    site_day,
    sites,
    staff,
    staff_security,
    status,
    wellknown,
)
from api.runtime import Runtime
from api.web import ACCESS as WEB_ACCESS
from api.web import router as web_router
from cityid.settings import Settings

UPLOAD_PATHS = re.compile(r"^/(v1|clerk)/applications/[^/]+/photo$")
# The partner routes come first: they take most of the traffic, and a request is matched
# against the routes in this order.
ROUTERS = (partner.router, ops.router, auth.router, staff.router, audit.router,
           applications.router, corrections.router, duplicates.router, status.router,
           cards.router, fulfilment.router, wellknown.router, partners.router, oversight.router,
           impact.router, operations.router, staff_security.router, key_ceremonies.router,
           holder.router, sites.router, site_day.router, appointments.router,
           appointment_numbers.router, fees.router, reference_lookup.router, web_router)
# The app, which holds both parts, merges the API's matrix and the web pages' rules; neither
# api/access.py nor api/web imports the other's routes.
ACCESS: Matrix = merged(MATRIX, WEB_ACCESS)


def all_rules() -> Matrix:
    """The one access matrix, API and web pages (a copy: the app's own is not to be edited)."""
    return dict(ACCESS)


def check_access_matrix(app: FastAPI) -> None:
    """Fail closed: every route must have a declared rule, and every rule a route."""
    rules: Matrix = app.state.access
    routes = all_routes(app)
    missing = routes - rules.keys()
    if missing:
        raise RuntimeError(f"routes without an access rule: {sorted(missing)}")
    stale = rules.keys() - routes
    if stale:
        raise RuntimeError(f"access rules for routes that do not exist: {sorted(stale)}")


def create_app(settings: Settings, runtime: Runtime) -> FastAPI:
    """The app around a runtime the entry layer built (entry/app.py for servers)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        runtime.audit_chainer.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(runtime.audit_chainer.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="cityid",
        version="1",
        summary="Municipal identity cards: confidential enrollment, signed cards, benefits.",
        dependencies=[Depends(authorize)],
        # /docs is served by api/web/docs.py from the app's own assets under the pages' CSP;
        # FastAPI's pages load Swagger UI and ReDoc from a CDN.
        docs_url=None, redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.access = ACCESS  # read by api/deps.authorize and api/openapi
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    # Inside all of them: the lean QR verification route (issue 14) gets every guard.
    app.add_middleware(LeanVerifyMiddleware, runtime=runtime,
                       rule=ACCESS.get(("POST", lean.PATH)),
                       redeem_rule=ACCESS.get(("POST", lean_redeem.PATH)),
                       enabled=settings.hot_path)
    # Innermost of the three: a request takes a slot once its body is read and checked, and a
    # refusal is still logged and counted.
    app.add_middleware(InFlightLimitMiddleware, limit=settings.max_requests_in_flight)
    app.add_middleware(PrivacyGuardMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes,
                       is_upload=lambda path: bool(UPLOAD_PATHS.match(path)))
    app.add_middleware(NoStoreMiddleware)  # outside the guard, so its refusals get it too
    app.add_middleware(AccessLogMiddleware)
    check_access_matrix(app)
    paths: dict[str, set[str]] = {}
    for method, path in all_routes(app):
        paths.setdefault(path, set()).add(method)
    app.state.route_methods = route_methods(paths)
    return app
