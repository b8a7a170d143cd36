"""The deployment's reverse proxy, started for real (Debian's nginx with the configuration file
docker-compose.yml mounts) in front of a real `cityid serve`: idle and slow clients cannot deny
service, and its own refusals answer as problem+json."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.settings import Settings
from tests.deploy.servers import (
    Served,
    cityid_serve,
    configured_seconds,
    nginx_proxy,
    request,
)
from tests.redemption.helpers import Headers, make_cardholder, make_partner

IDLE_SOCKETS = 400
# Connections the proxy lets one client address have with a request in progress (limit_conn).
PER_CLIENT_REQUESTS = 32
# Time allowed past a configured timeout for nginx's timers to fire on a busy machine.
SLACK_SECONDS = 20


@pytest.fixture
def proxied(settings: Settings, runtime: Runtime, tmp_path: Path) -> Iterator[Served]:
    with ExitStack() as stack:
        app = stack.enter_context(
            cityid_serve(settings, tmp_path, env={"CITYID_TRUSTED_PROXIES": "127.0.0.1"}))
        yield stack.enter_context(nginx_proxy(app.port, tmp_path / "nginx"))


@pytest.fixture
def verifier(client: TestClient, auth_header: Callable[[str], Headers],
             runtime: Runtime) -> tuple[Headers, dict[str, Any]]:
    _, key = make_partner(client, auth_header("admin"), "cultural")
    return key, make_cardholder(runtime)


def open_idle(port: int, count: int) -> list[socket.socket]:
    """Connections that send nothing at all."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def open_stalled_bodies(port: int, count: int, *, counted: bool = False) -> list[socket.socket]:
    """Requests whose header is complete and whose announced body never comes: a request in
    progress as far as the proxy's limits are concerned. With ``counted``, each asks for
    `100 Continue`, which nginx sends once it has taken the request past its limits and
    starts reading the body, so the caller knows every one of them is counted."""
    sockets = []
    expect = b"Expect: 100-continue\r\n" if counted else b""
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: cityid\r\n" + expect +
                     b"Content-Type: application/json\r\nContent-Length: 64\r\n\r\n")
        if counted:
            assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def wait_until_closed(sockets: list[socket.socket], within: float) -> int:
    """Reads until the server closes each socket or ``within`` seconds pass; returns how many
    are still open."""
    open_ = set(sockets)
    deadline = time.monotonic() + within
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_), [], [], 1)
        for sock in readable:
            try:
                if sock.recv(65536) == b"":
                    open_.discard(sock)
            except ConnectionResetError:
                open_.discard(sock)
            except BlockingIOError:
                pass
    for sock in sockets:
        sock.close()
    return len(open_)


def log_lines(log: Path, at_least: int) -> list[str]:
    """The log's lines, once it has ``at_least`` (nginx writes a line after answering)."""
    deadline = time.monotonic() + 30
    while True:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        if len(lines) >= at_least or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def verify(port: int, key: Headers, qr: str) -> tuple[int, dict[str, Any]]:
    status, _, body = request(port, "POST", "/v1/verify", body=json.dumps({"qr": qr}).encode(),
                              headers={**key, "Content-Type": "application/json"})
    return status, json.loads(body)


def test_idle_sockets_neither_block_health_checks_and_verifications_nor_stay_open(
        proxied: Served, verifier: tuple[Headers, dict[str, Any]]) -> None:
    key, holder = verifier
    idle = open_idle(proxied.port, IDLE_SOCKETS)
    try:
        health = [request(proxied.port, "GET", "/healthz")[0] for _ in range(40)]
        verified = [verify(proxied.port, key, holder["qr"]) for _ in range(10)]
    finally:
        still_open = wait_until_closed(
            idle, configured_seconds("client_header_timeout") + SLACK_SECONDS)
    assert health == [200] * 40
    assert all(status == 200 and body["result"] == "valid" for status, body in verified)
    assert still_open == 0, f"{still_open} of {IDLE_SOCKETS} idle sockets were never closed"


def keep_alive_after_one_request(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: cityid\r\n\r\n")
        answer = b""
        while b'{"status":"ok"}' not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def test_stalled_bodies_and_idle_keep_alive_connections_are_closed_by_their_timeouts(
        proxied: Served) -> None:
    stalled = open_stalled_bodies(proxied.port, 10)
    kept = keep_alive_after_one_request(proxied.port, 10)
    within = max(configured_seconds("client_body_timeout"),
                 configured_seconds("keepalive_timeout")) + SLACK_SECONDS
    assert (wait_until_closed(stalled + kept, within)) == 0


def test_requests_beyond_the_per_client_limit_get_a_problem_503_with_retry_after(
        proxied: Served) -> None:
    held = open_stalled_bodies(proxied.port, PER_CLIENT_REQUESTS, counted=True)
    try:
        status, headers, body = request(proxied.port, "GET", "/healthz")
        # Another client address is not held back by this one's requests.
        other = request(proxied.port, "GET", "/healthz", source="127.0.0.2")[0]
    finally:
        for sock in held:
            sock.close()
    assert status == 503
    assert headers["content-type"].startswith("application/problem+json")
    assert int(headers["retry-after"]) > 0
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (503, "overloaded")
    assert other == 200


def test_the_proxy_access_log_holds_no_path_query_or_client_address(proxied: Served) -> None:
    before = len(log_lines(proxied.log, at_least=0))
    request(proxied.port, "GET", "/healthz?name=Zephyrine", source="127.0.0.9")
    request(proxied.port, "POST", "/v1/status?reference=ABC", body=b'{"reference": "Quill"}',
            headers={"Content-Type": "application/json"}, source="127.0.0.9")
    lines = log_lines(proxied.log, at_least=before + 2)
    records = [json.loads(line) for line in lines]
    assert [r["status"] for r in records if r["logger"] == "nginx.access"][-2:] == [200, 422]
    text = "\n".join(lines)
    for value in ("Zephyrine", "Quill", "ABC", "127.0.0.9", "healthz", "/v1/status"):
        assert value not in text
