"""Each process refuses requests in progress beyond its limit, counting requests, not sockets."""

from __future__ import annotations

import json

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from api.middleware import InFlightLimitMiddleware

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def http_scope() -> Scope:
    return {"type": "http", "method": "GET", "path": "/healthz", "headers": [],
            "query_string": b""}


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class Held:
    """An app whose requests stay in progress until released."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.entered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: InFlightLimitMiddleware) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(http_scope(), no_body, send)
    return sent


async def test_a_request_beyond_the_limit_gets_a_problem_503_with_retry_after() -> None:
    held = Held()
    app = InFlightLimitMiddleware(held, limit=2)
    answers: list[list[Message]] = []
    async with anyio.create_task_group() as tasks:
        for _ in range(2):
            tasks.start_soon(lambda: _collect(app, answers))
        while held.entered < 2:
            await anyio.sleep(0)
        refused = await call(app)
        held.release.set()
    start, body = refused[0], refused[1]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 503
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) > 0
    assert json.loads(body["body"])["code"] == "overloaded"
    assert [a[0]["status"] for a in answers] == [200, 200]


async def test_a_finished_request_frees_its_slot() -> None:
    held = Held()
    held.release.set()
    app = InFlightLimitMiddleware(held, limit=1)
    statuses = [(await call(app))[0]["status"] for _ in range(5)]
    assert statuses == [200] * 5
    assert app.in_flight == 0


async def _collect(app: InFlightLimitMiddleware, answers: list[list[Message]]) -> None:
    answers.append(await call(app))
