"""Dependencies: the per-request session (one transaction), the runtime, and the principal."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.access import PARTNER, Matrix, Rule
from api.runtime import Runtime
from cityid.db import end_session
from cityid.errors import Forbidden, NotFound, Unauthenticated
from partners import keys as partner_keys
from partners import service as partner_service
from partners.errors import PartnerThrottled
from partners.service import PartnerAccess
from privacy.audit import Actor
from staff import service as staff_service


async def get_runtime(request: Request) -> Runtime:
    # async: no I/O here, and a sync dependency would cost a threadpool hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """One transaction per request, committed when the route function returns and before the
    response is sent; rolled back if anything raises. Async because making a session does no
    I/O (its connection is taken at the first statement), so only its end costs a threadpool
    hop; shielded, so a client that goes away can't leave the transaction open."""
    session, finished = runtime.sessions(), False
    try:
        yield session
        finished = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(partial(end_session, session, commit=finished))


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff", "partner" or "anonymous"
    id: str
    role: str | None
    token: str | None = None
    partner: PartnerAccess | None = None

    @property
    def actor(self) -> Actor:
        # A partner's own staff account acts as itself; an API key acts as its partner.
        if self.partner is not None and self.kind == "partner":
            return self.partner.actor
        return Actor(self.id, self.role or "none")


ANONYMOUS = Principal("anonymous", "anonymous", None)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


SESSION_COOKIE = "cityid_session"


def authorize(request: Request, session: SessionDep, runtime: RuntimeDep) -> Principal:
    """Runs on every route: looks the route up in the access matrix and checks the caller.

    The JSON API (/v1) takes bearer tokens only. Web pages take the session cookie, with an
    idle timeout; their forms carry a CSRF token (api/web checks it)."""
    route = request.scope.get("route")
    path = getattr(route, "path", "")
    # The app's one matrix, API and web pages merged (api/app.py): this module can't import the
    # pages, which depend on it.
    access: Matrix = request.app.state.access
    rule = access.get((request.method, path))
    if rule is None:
        raise Forbidden("This route has no access rule and is closed.")
    if rule.public:
        return ANONYMOUS
    if rule.scraper:
        return _scraper_principal(request, runtime)
    token, idle = _bearer(request), None
    if token is None and not path.startswith("/v1/"):
        token = request.cookies.get(SESSION_COOKIE)
        idle = timedelta(minutes=runtime.settings.web_idle_minutes)
    if token is None:
        raise Unauthenticated()
    if partner_keys.is_partner_key(token):
        return _partner_principal(request, session, runtime, token, rule)
    account = staff_service.resolve_token(session, token, clock=runtime.clock, idle=idle)
    # A partner's own account sees and does only what its partner's policy allows, and
    # nothing while the partner is inactive.
    partner = staff_service.partner_of(session, account)
    principal = Principal("staff", str(account.id), account.role, token,
                          partner_service.access_of(partner, staff_id=account.id)
                          if partner is not None else None)
    if not rule.allows(principal.role):
        # Signed in, just not allowed here: the 403 page links back to this person's home.
        request.state.principal = principal
        raise Forbidden()
    return principal


SCRAPER = Principal("scraper", "scraper", None)


def _scraper_principal(request: Request, runtime: Runtime) -> Principal:
    """Metrics are not public: they show which routes are used, how often and how they fail.
    Without a configured token the route is closed as if it did not exist."""
    expected = runtime.settings.metrics_token
    if not expected:
        raise NotFound()
    token = _bearer(request)
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthenticated()
    return SCRAPER


def _partner_principal(request: Request, session: Session, runtime: Runtime, token: str,
                       rule: Rule) -> Principal:
    access = partner_keys.authenticate_key(session, token, clock=runtime.clock)
    per_key, per_client = runtime.partner_limits
    runtime.partner_limiter.consume(per_key, str(access.key_id), PartnerThrottled)
    runtime.partner_limiter.consume(per_client, client_address(request), PartnerThrottled)
    principal = Principal("partner", f"partner:{access.partner_id}", PARTNER, token, access)
    if not rule.allows(PARTNER):
        raise Forbidden()
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]


async def current_partner(principal: PrincipalDep) -> PartnerAccess:
    if principal.partner is None:
        raise Forbidden("Only a partner's API key can call this.")
    return principal.partner


PartnerDep = Annotated[PartnerAccess, Depends(current_partner)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
