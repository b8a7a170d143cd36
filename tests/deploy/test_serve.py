"""`cityid serve` as it runs, a real subprocess: idle sockets do not lock anyone out, and the
client address every throttle counts cannot be picked by the client."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from cityid.settings import Settings
from tests.deploy.servers import cityid_serve, nginx_proxy, request

TRIES = 3
THROTTLES = {"CITYID_STATUS_CHECKS_PER_CLIENT": str(TRIES),
             "CITYID_LOGIN_MAX_FAILURES_PER_CLIENT": str(TRIES)}


def status_check(port: int, attempt: int, *, source: str | None = None,
                 forwarded: str | None = None) -> int:
    """A status check for a reference nobody has; a new one each time, so only the per-client
    throttle can catch it."""
    body = json.dumps({"reference": f"NOPE{attempt:04d}", "date_of_birth": "1990-01-01"})
    headers = {"Content-Type": "application/json"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return request(port, "POST", "/v1/status", body=body.encode(), headers=headers,
                   source=source)[0]


def sign_in_guess(port: int, attempt: int, *, source: str | None = None,
                  forwarded: str | None = None) -> int:
    """A wrong sign-in under a new username each time, so only the per-client throttle can
    catch it."""
    body = json.dumps({"username": f"guess-{attempt}", "password": "not the password"})
    headers = {"Content-Type": "application/json"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return request(port, "POST", "/v1/auth/token", body=body.encode(), headers=headers,
                   source=source)[0]


GUESSES: dict[str, tuple[Callable[..., int], int]] = {
    "status": (status_check, 404),
    "sign-in": (sign_in_guess, 401),
}


def test_idle_sockets_do_not_make_the_service_answer_503(settings: Settings,
                                                         tmp_path: Path) -> None:
    # The limit on requests in progress, set low: a server that counted sockets against it
    # (uvicorn's limit_concurrency) would refuse every health check below.
    with cityid_serve(settings, tmp_path, env={"CITYID_MAX_REQUESTS_IN_FLIGHT": "8"}) as app:
        idle = [socket.create_connection(("127.0.0.1", app.port), timeout=10)
                for _ in range(64)]
        try:
            health = [request(app.port, "GET", "/healthz")[0] for _ in range(20)]
        finally:
            for sock in idle:
                sock.close()
    assert health == [200] * 20


def test_rotating_x_forwarded_for_from_loopback_does_not_escape_the_throttles(
        settings: Settings, tmp_path: Path) -> None:
    with cityid_serve(settings, tmp_path, env=THROTTLES) as app:
        answers = {name: [guess(app.port, i, forwarded=f"198.51.100.{i}")
                          for i in range(TRIES * 2)]
                   for name, (guess, _) in GUESSES.items()}
    for name, (_, refused) in GUESSES.items():
        assert answers[name] == [refused] * TRIES + [429] * TRIES, name


def test_behind_the_proxy_the_throttles_count_the_real_client_address(
        settings: Settings, tmp_path: Path) -> None:
    with ExitStack() as stack:
        app = stack.enter_context(cityid_serve(
            settings, tmp_path, env={**THROTTLES, "CITYID_TRUSTED_PROXIES": "127.0.0.1"}))
        proxy = stack.enter_context(nginx_proxy(app.port, tmp_path / "nginx"))
        answers = {}
        for name, (guess, _) in GUESSES.items():
            # One client rotating X-Forwarded-For through the proxy: the proxy replaces it.
            rotating = [guess(proxy.port, i, source="127.0.0.2", forwarded=f"198.51.100.{i}")
                        for i in range(TRIES * 2)]
            # Straight to the app from that client, which is not a trusted proxy: its
            # X-Forwarded-For is ignored, and it is still the throttled client.
            direct = guess(app.port, 100, source="127.0.0.2", forwarded="198.51.100.99")
            # Another client through the same proxy is its own client, not the proxy's.
            other = guess(proxy.port, 200, source="127.0.0.4")
            answers[name] = (rotating, direct, other)
    for name, (_, refused) in GUESSES.items():
        rotating, direct, other = answers[name]
        assert rotating == [refused] * TRIES + [429] * TRIES, name
        assert direct == 429, name
        assert other == refused, name
