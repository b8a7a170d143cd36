"""The lean route for ``POST /v1/verify`` with a QR: plain ASGI, in front of FastAPI's routing.

It sits inside the app's middleware (``api/app.py`` adds it innermost), so the access log and
metrics, ``no-store``, the body limit, the forbidden-field guard and the in-flight limit apply
to it exactly as to every route. It then does what the normal route does, with async psycopg and
no ORM session, dependency resolution or threadpool hop (``redemption.hotpath``):
the strict schema (``VerifyIn``), the key checks (unknown, revoked, expired, inactive partner),
the access rule, the operation and purpose checks, both partner rate limits, the signature and
time checks, the live card status, the policy's disclosure, and the audit entry, committed
before the answer is sent.

Whatever it does not answer identically it hands to the normal route untouched, before counting
anything: another method or path, SQLite, a body the schema refuses, a check by card number, a
missing or unknown key or one that fails a check, a partner whose disclosure needs decryption,
an operation or purpose the policy refuses. Those answers are the normal route's own."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import PARTNER, Rule
from api.errors import app_error_response
from api.runtime import Runtime
from cityid.errors import AppError, DatabaseUnavailable
from partners import keys as partner_keys
from partners import service as partner_service
from partners.errors import PartnerThrottled
from partners.models import Partner
from partners.purposes import check_purpose
from partners.service import PartnerAccess
from privacy import audit
from redemption import hot_repository as repo
from redemption.hotpath import HotDesk, takes
from redemption.key_cache import CachedKey, KeyCache
from redemption.schemas import CardPresented, VerifyIn

Presented = TypeVar("Presented", bound=CardPresented)
log = logging.getLogger("cityid.lean")
PATH = "/v1/verify"
JSON_HEADERS = [(b"content-type", b"application/json")]
# The same interval as redemption.service.TOUCH_EVERY: last_used_at is written once a minute.
TOUCH_EVERY = partner_keys.TOUCH_EVERY


class HandOver(Exception):
    """Not answered here: the normal route answers it."""


Answer = tuple[int, bytes, list[Any]]


class LeanVerifyMiddleware:
    def __init__(self, app: ASGIApp, *, runtime: Runtime, rule: Rule | None,
                 redeem_rule: Rule | None = None, enabled: bool = True) -> None:
        """``rule`` and ``redeem_rule``: the access matrix's rules for ``POST /v1/verify`` and
        ``POST /v1/redemptions``, as the app merged them."""
        self.app = app
        self.runtime = runtime
        url = make_url(runtime.settings.effective_database_url)
        on = url.get_backend_name() == "postgresql" and enabled

        def partners_may(rule: Rule | None) -> bool:
            # Fail closed: with no rule letting partner keys call it, a lean route stays off.
            return rule is not None and not rule.public and rule.allows(PARTNER)

        from api import lean_redeem  # the redemption route builds on this module's plumbing

        self.routes: dict[str, Callable[[Scope, bytes], Awaitable[Answer]]] = {}
        if on and partners_may(rule):
            self.routes[PATH] = self._verify
        if on and partners_may(redeem_rule):
            self.routes[lean_redeem.PATH] = partial(lean_redeem.redeem, self)
        self.enabled = bool(self.routes)
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._db: repo.HotDatabase | None = None
        self.keys = KeyCache(self._conninfo)
        self._hot: HotDesk | None = None
        self._found: dict[str, Any] = {}
        self.answered = 0  # requests the lean routes answered (the rest were handed over)
        self.answered_by: dict[str, int] = {}

    # --- plumbing --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._lifespan(receive), send)
            return
        route = (self.routes.get(scope["path"])
                 if scope["type"] == "http" and scope["method"] == "POST" else None)
        if route is None:
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        try:
            status, payload, headers = await route(scope, body)
        except HandOver:
            await self.app(scope, _replay(body, receive), send)
            return
        path = scope["path"]
        if path not in self._found:
            self._found[path] = _find_route(scope, path)
        scope["route"] = self._found[path]  # for the access log and metrics
        self.answered += 1
        self.answered_by[path] = self.answered_by.get(path, 0) + 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _lifespan(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.close()
            return message
        return wrapped

    def start(self) -> tuple[repo.HotDatabase, HotDesk]:
        if self._db is None or self._hot is None:
            self._db = repo.HotDatabase(self._conninfo,
                                        size=self.runtime.settings.database_pool_size)
            self._hot = HotDesk(self.runtime.cards)
            self.keys.start()
        return self._db, self._hot

    async def close(self) -> None:
        self.keys.stop()
        if self._db is not None:
            await self._db.close()
            self._db = None

    # --- the route -------------------------------------------------------------------------

    async def _verify(self, scope: Scope, body: bytes) -> Answer:
        token = bearer(scope)
        if token is None or not partner_keys.is_partner_key(token):
            raise HandOver()
        request = parse(scope, body, VerifyIn)
        db, hot = self.start()
        runtime = self.runtime
        now = runtime.clock.now()
        try:
            cached = await self.key(db, token, now)
            partner = cached.access
            try:
                partner.require("verify")
                check_purpose(partner.type, request.purpose, request.incident_reference)
            except AppError:
                raise HandOver() from None
            if not takes(partner):
                raise HandOver()
            self.count(scope, partner)
            await self.touch(db, cached, now)
            assert request.qr is not None
            checked = hot.check_qr(request.qr, now)
            card = (await repo.card_row(db, checked.number_index, checked.issue_number)
                    if checked.number_index is not None and checked.issue_number is not None
                    else None)
            answer, entry = hot.answer(mac_key=audit.mac_key(runtime.vault),
                                       partner=partner, request=request, checked=checked,
                                       card=card, now=now)
            await repo.add_entry(db, entry)  # durable before the answer leaves
        except (PartnerThrottled, DatabaseUnavailable) as exc:
            return error_answer(exc)
        return json_answer(answer)

    def count(self, scope: Scope, partner: PartnerAccess) -> None:
        """Both partner rate limits, as ``api.deps.authorize`` counts them: only once the lean
        route has decided to answer, so a request handed over is counted once, there."""
        per_key, per_client = self.runtime.partner_limits
        limiter = self.runtime.partner_limiter
        limiter.consume(per_key, str(partner.key_id), PartnerThrottled)
        client = scope.get("client")
        limiter.consume(per_client, client[0] if client else "unknown", PartnerThrottled)

    async def touch(self, db: repo.HotDatabase, cached: CachedKey, now: Any) -> None:
        if cached.touched_at is None or now - cached.touched_at >= TOUCH_EVERY:
            await repo.touch_key(db, cached.row.key_id, now)
            cached.touched_at = now

    async def key(self, db: repo.HotDatabase, token: str, now: Any) -> CachedKey:
        """The key's partner, from the cache or the database; a key that fails any check is
        handed over, and the normal route answers why."""
        key_hash = partner_keys.key_hash(token)
        cached = self.keys.get(key_hash)
        if cached is None:
            generation = self.keys.generation
            row = await repo.key_row(db, key_hash)
            if row is None:
                raise HandOver()
            partner = Partner(id=row.partner_id, name=row.name, type=row.type,
                              active=row.active, policy=row.policy)
            cached = CachedKey(row, partner_service.access_of(partner, row.key_id),
                               touched_at=row.last_used_at)
            self.keys.put(key_hash, cached, generation)
        row = cached.row
        if row.revoked_at is not None or row.expires_at <= now or not row.active:
            raise HandOver()
        return cached


def lean_of(app: Any) -> LeanVerifyMiddleware | None:
    """The lean route in a started app's middleware stack (for tests and benchmarks)."""
    layer = getattr(app, "middleware_stack", None)
    while layer is not None:
        if isinstance(layer, LeanVerifyMiddleware):
            return layer
        layer = getattr(layer, "app", None)
    return None


def json_answer(document: Any) -> Answer:
    """A 200 with the JSON FastAPI's JSONResponse would render for ``document``."""
    payload = json.dumps(document, ensure_ascii=False, allow_nan=False, indent=None,
                         separators=(",", ":")).encode()
    return 200, payload, [(b"content-length", str(len(payload)).encode()), *JSON_HEADERS]


def error_answer(exc: AppError) -> Answer:
    response = app_error_response(exc)
    return response.status_code, bytes(response.body), response.raw_headers


def bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def parse(scope: Scope, body: bytes, model: type[Presented]) -> Presented:
    """The body as FastAPI reads it: JSON, validated against ``model``; anything that would
    be refused, or a check by number, goes to the normal route."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";")[0].strip().lower()
            if kind != b"application/json":
                raise HandOver()
            break
    else:
        raise HandOver()
    try:
        document = json.loads(body)
    except ValueError:
        raise HandOver() from None
    if not isinstance(document, dict) or not isinstance(document.get("qr"), str):
        raise HandOver()
    try:
        request = model.model_validate(document)
    except ValidationError:
        raise HandOver() from None
    if request.qr is None:
        raise HandOver()
    return request


async def _read(receive: Receive) -> bytes:
    # PrivacyGuardMiddleware has read and bounded the body already; this is its replay.
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


def _find_route(scope: Scope, path: str) -> Any:
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", []):
        if getattr(route, "path", None) == path and "POST" in getattr(route, "methods", ()):
            return route
    return None



