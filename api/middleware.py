"""ASGI middleware: the forbidden-field guard with the body-size limit, the limit on requests in
progress, and the access log with metrics. Pure ASGI, so the guard sees the raw request before
any route, dependency or log does."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.errors import app_error_response, problem
from privacy.errors import ForbiddenField
from privacy.forbidden import NestedTooDeep, check_document, check_names

log = logging.getLogger("cityid.access")


class _TooLarge(Exception):
    pass


async def _send_response(response: Any, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)


class PrivacyGuardMiddleware:
    """Refuses forbidden fields (query, header and cookie names, JSON at any depth, urlencoded
    and multipart forms) and oversized bodies, before the request reaches anything that could
    store or log it."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int,
                 is_upload: Callable[[str], bool]) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            query = scope.get("query_string", b"").decode("latin-1")
            check_names(k for k, _ in parse_qsl(query, keep_blank_values=True))
            headers = Headers(scope=scope)
            check_names(headers.keys())
            for cookies in headers.getlist("cookie"):
                check_names(cookie_parser(cookies).keys())
            limit = self.max_upload if self.is_upload(scope["path"]) else self.max_body
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _TooLarge()
            body = await self._read_body(receive, limit)
            await self._check_body(scope, headers, body)
        except ForbiddenField as exc:
            await _send_response(app_error_response(exc), scope, receive, send)
            return
        except _TooLarge:
            await _send_response(problem(413, "payload_too_large", "The request body is too large",
                                         f"The limit here is {limit} bytes."),
                                 scope, receive, send)
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _check_body(scope: Scope, headers: Headers, body: bytes) -> None:
        if not body:
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        # FastAPI reads a body without a content type as JSON too.
        if content_type in {"", "application/json"} or content_type.endswith("+json"):
            try:
                document = json.loads(body)
            except RecursionError:
                raise NestedTooDeep() from None
            except ValueError:
                return  # the route answers "malformed_json"
            check_document(document)
        elif content_type == "application/x-www-form-urlencoded":
            # Decoded as the form parser does (UTF-8), so a look-alike letter is seen as one.
            check_names(k for k, _ in parse_qsl(body.decode("utf-8", "replace"),
                                                keep_blank_values=True))
        elif content_type == "multipart/form-data":
            async def once() -> Message:
                return {"type": "http.request", "body": body, "more_body": False}

            request = Request(scope, receive=once)
            try:
                form = await request.form()
            except Exception:
                return
            names = list(form.keys())
            await form.close()
            check_names(names)


class InFlightLimitMiddleware:
    """Answers 503 `overloaded` once this process has `limit` requests in progress. It counts
    requests that reached the app, not sockets: an idle or slow connection holds no slot (the
    proxy in front closes those), so it cannot lock out anyone else."""

    RETRY_AFTER_SECONDS = 2

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            response = problem(503, "overloaded", "The service is busy",
                               "Too many requests are in progress; try again in a few seconds.",
                               headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)})
            await _send_response(response, scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response that does not set its own cache policy.

    Tokens, API keys, applications, cards, records, status and verification answers and the
    signed-in pages must never sit in a browser's or a proxy's cache, and a new route must not
    be cacheable by accident: so it is the default, and only the public publications (key set,
    status list, static assets) set a cache lifetime of their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_wrapper)


class AccessLogMiddleware:
    """One log line and one metric per request: method, route template, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            metrics.observe(scope["method"], route, status, elapsed)
            log.info("request", extra={"method": scope["method"], "route": route,
                                       "status": status, "ms": round(elapsed * 1000, 2)})
