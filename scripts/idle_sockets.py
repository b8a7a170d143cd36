#!/usr/bin/env python3
"""Idle and parallel clients against a running cityid: do health checks still answer while N
sockets sit open sending nothing, and how long until the server closes them?

    python scripts/idle_sockets.py http://127.0.0.1:8080 --sockets 800 --checks 80 --wait 60
    python scripts/idle_sockets.py http://127.0.0.1:8000 --parallel 1000

It prints health-check answers before the idle sockets open (the baseline, same run) and while
they are open, then when the server closed each idle socket. With --parallel, it also sends that
many requests at once and counts the answers by status and content type. Standard library only.
Only loopback addresses unless --allow-remote: this is a load tool, aim it at your own server.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import ipaddress
import resource
import select
import socket
import statistics
import sys
import time
from collections import Counter
from urllib.parse import urlsplit


def health_checks(host: str, port: int, path: str, count: int) -> tuple[Counter[str], list[float]]:
    answers: Counter[str] = Counter()
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            answers[str(response.status)] += 1
        except OSError as exc:
            answers[type(exc).__name__] += 1
        finally:
            conn.close()
        times.append((time.perf_counter() - started) * 1000)
    return answers, times


def open_idle(host: str, port: int, count: int) -> tuple[list[socket.socket], list[float], int]:
    sockets, opened, failed = [], [], 0
    for _ in range(count):
        try:
            sock = socket.create_connection((host, port), timeout=10)
        except OSError:
            failed += 1
            continue
        sock.setblocking(False)
        sockets.append(sock)
        opened.append(time.monotonic())
    return sockets, opened, failed


def wait_for_close(sockets: list[socket.socket], opened: list[float],
                   wait: float) -> list[float]:
    """Seconds from opening to the server's close, for each socket it closed within ``wait``."""
    when = dict(zip(sockets, opened, strict=True))
    pending = set(sockets)
    closed: list[float] = []
    deadline = time.monotonic() + wait
    while pending and time.monotonic() < deadline:
        # select() handles at most 1024 descriptors; poll() has no such limit.
        poller = select.poll()
        by_fd = {sock.fileno(): sock for sock in pending}
        for fd in by_fd:
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ in poller.poll(500):
            sock = by_fd[fd]
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data == b"":
                closed.append(time.monotonic() - when[sock])
                pending.discard(sock)
    for sock in sockets:
        sock.close()
    return closed


async def one_request(host: str, port: int, path: str) -> str:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        writer.close()
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        return type(exc).__name__
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1]
    content_type = next((line.split(":", 1)[1].strip().split(";")[0] for line in lines[1:]
                         if line.lower().startswith("content-type:")), "-")
    return f"{status} {content_type}"


async def parallel(host: str, port: int, path: str, count: int) -> Counter[str]:
    answers = await asyncio.gather(*(one_request(host, port, path) for _ in range(count)))
    return Counter(answers)


def summary(answers: Counter[str], times: list[float]) -> str:
    counts = ", ".join(f"{k} x{v}" for k, v in sorted(answers.items()))
    return (f"{counts}; median {statistics.median(times):.1f} ms, "
            f"max {max(times):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--sockets", type=int, default=800, help="idle sockets to hold open")
    parser.add_argument("--checks", type=int, default=80, help="health checks in each phase")
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--wait", type=float, default=60,
                        help="seconds to wait for the server to close the idle sockets")
    parser.add_argument("--parallel", type=int, default=0,
                        help="also send this many requests at once (0: don't)")
    parser.add_argument("--allow-remote", action="store_true")
    args = parser.parse_args()

    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    if not args.allow_remote and not ipaddress.ip_address(
            socket.gethostbyname(host)).is_loopback:
        parser.error(f"{host} is not a loopback address; pass --allow-remote if it is yours")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.sockets + max(args.parallel, 0) + 64
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))

    print(f"target {host}:{port}{args.path}")
    answers, times = health_checks(host, port, args.path, args.checks)
    print(f"baseline, no idle sockets: {summary(answers, times)}")

    sockets, opened, failed = open_idle(host, port, args.sockets)
    print(f"idle sockets opened: {len(sockets)} (refused or failed: {failed})")
    answers, times = health_checks(host, port, args.path, args.checks)
    print(f"with the idle sockets open: {summary(answers, times)}")

    closed = wait_for_close(sockets, opened, args.wait)
    if closed:
        print(f"closed by the server within {args.wait:.0f} s: {len(closed)} of {len(sockets)}; "
              f"after min {min(closed):.1f} s, median {statistics.median(closed):.1f} s, "
              f"max {max(closed):.1f} s")
    else:
        print(f"closed by the server within {args.wait:.0f} s: 0 of {len(sockets)}")

    if args.parallel > 0:
        burst = asyncio.run(parallel(host, port, args.path, args.parallel))
        print(f"{args.parallel} requests at once: "
              + ", ".join(f"{k} x{v}" for k, v in burst.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
