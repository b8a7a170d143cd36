"""Partner verification under load, on the real server, next to a bare FastAPI endpoint.

What it does, all on 127.0.0.1:
- creates a throwaway PostgreSQL database ``cityid_bench_verify_*`` and a temporary data dir;
- seeds ``--small`` (10,000) synthetic cardholders with ``cityid seed`` and times it;
- starts ``cityid serve --workers W`` and, as the baseline, uvicorn with the same worker count
  serving ``bare_app`` below: one POST endpoint that parses the same JSON body and returns a
  constant, the least any FastAPI endpoint costs;
- makes an admin with ``cityid staff add`` (password on stdin), a cultural partner with an API
  key and a benefit (1,000 per calendar month) through the admin API;
- decrypts the credentials of ``--sample`` random cards through the card service, for QR payloads;
- drives each endpoint at ``--connections`` concurrent keep-alive connections from an asyncio
  client: a warm-up, then ``--runs`` fixed-duration runs; the median run is reported;
  ``POST /v1/redemptions`` gets a fresh Idempotency-Key per request;
- unless ``--quick``: seeds up to ``--large`` (1,000,000) and measures again;
- stops both servers, drops the database and removes the data dir, also after an error.

The load client, both servers and PostgreSQL share this machine's cores; the client takes a
share of the CPU the servers could use, so the figures are a floor.

Run: ``.venv/bin/python bench/verify_load.py [--quick] [--workers 2] [--duration 15]
[--runs 3] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
from fastapi import FastAPI
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
CITYID = Path(sys.executable).with_name("cityid")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench admin password, loopback only"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
SEED_TIMEOUT = 3 * 3600.0
AIM_RATIO, AIM_P99_MS, AIM_GROWTH = 0.5, 50.0, 1.2
AIM_REDEEM_RATIO = 0.35


# --- the baseline -------------------------------------------------------------------------


class BareIn(BaseModel):
    qr: str | None = None
    benefit_id: str | None = None


def bare_app() -> FastAPI:
    """The baseline: what FastAPI and uvicorn cost for the same request shape, and no more.
    A plain ``def`` like the real endpoint, so it also pays the threadpool hop."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/verify")
    def verify(body: BareIn) -> dict[str, Any]:
        return {"result": "valid", "reason": "ok", "disclosed": {"validity": "valid"}}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


# --- the load client ----------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    server_cpu: float = 0.0  # CPU seconds the server's processes used during the run

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / max(1, sum(self.statuses.values()))

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def percentile_ms(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status


async def _connection(port: int, request: Callable[[], bytes], until: float,
                      sample: Sample | None) -> None:
    """One keep-alive connection, one request at a time, until ``until``; reconnects after an
    error. Latencies count only requests sent before ``until``."""
    while time.perf_counter() < until:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            if sample is not None:
                sample.statuses["connect"] += 1
            await asyncio.sleep(0.05)
            continue
        try:
            while time.perf_counter() < until:
                body = request()
                started = time.perf_counter()
                writer.write(body)
                status = await _read_response(reader)
                if sample is not None:
                    sample.latencies.append(time.perf_counter() - started)
                    sample.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            if sample is not None:
                sample.statuses["dropped"] += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _drive(port: int, request: Callable[[], bytes], connections: int, seconds: float,
                 record: bool) -> Sample:
    sample = Sample(seconds=seconds)
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, request, until, sample if record else None)
                           for _ in range(connections)))
    return sample


def session_cpu_seconds(session_id: int) -> float:
    """User + system CPU of every live process in a session (a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id:  # fields after "(comm)": state ppid pgrp session ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measure(port: int, request: Callable[[], bytes], *, connections: int, warmup: float,
            seconds: float, runs: int, server_session: int | None = None) -> Sample:
    """A warm-up, then ``runs`` runs of ``seconds``; returns the run with the median rate."""
    asyncio.run(_drive(port, request, connections, warmup, record=False))
    samples = []
    for _ in range(runs):
        before = session_cpu_seconds(server_session) if server_session else 0.0
        sample = asyncio.run(_drive(port, request, connections, seconds, record=True))
        if server_session:
            sample.server_cpu = session_cpu_seconds(server_session) - before
        samples.append(sample)
    return sorted(samples, key=lambda s: s.rate)[len(samples) // 2]


def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[], bytes]:
    payload = json.dumps(body, separators=(",", ":")).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", "Content-Type: application/json",
             f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    return lambda: request


def one_of(requests: list[Callable[[], bytes]]) -> Callable[[], bytes]:
    return lambda: random.choice(requests)()


# --- servers and commands -----------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cityid(env: dict[str, str], *args: str, stdin: str | None = None,
           timeout: float = 600.0) -> None:
    subprocess.run([str(CITYID), *args], env=env, input=stdin, text=True, check=True,
                   timeout=timeout, cwd=ROOT)


def admin_token(post: Callable[[str, dict[str, Any]], Any]) -> str:
    """Signs the bench's admin in as an admin must (a second factor): enrols an authenticator
    app (TOTP) with the password, confirms it with one code and signs in with the next, since a
    code is never accepted twice. ``post(path, body)`` answers the JSON body."""
    creds = {"username": ADMIN, "password": ADMIN_PASSWORD}
    totp = pyotp.TOTP(post("/v1/auth/second-factor/enrolment", creds)["secret"])
    post("/v1/auth/second-factor/confirmation", {**creds, "code": totp.at(time.time() - 30)})
    return str(post("/v1/auth/token", {**creds, "second_factor": totp.now()})["access_token"])


def http_json(port: int, method: str, path: str, body: dict[str, Any] | None = None,
              token: str | None = None) -> Any:
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}:\n"
                                   + self.log_path.read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}{path}",
                                            timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {path} within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)


def start(name: str, args: list[str], env: dict[str, str], data_dir: Path, port: int) -> Server:
    log_path = data_dir / f"{name}.log"
    with log_path.open("wb") as out:
        # A session of its own, so stopping it reaches its worker processes and nothing else.
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Server(name, port, process, log_path)


# --- the run ------------------------------------------------------------------------------


@dataclass
class Stage:
    seeded: int  # cardholders in the database
    seed_count: int  # how many this stage's `cityid seed` added
    seed_seconds: float
    bare: Sample | None = None
    verify: Sample | None = None
    redeem: Sample | None = None
    verify_alone: Sample | None = None  # one connection: the cost of a request, no queueing
    audit_waiting: int = 0  # audit entries not yet chained right after the runs


def sample_qr_texts(env: dict[str, str], count: int) -> list[str]:
    """Credentials of random cards, decrypted through the card service."""
    from sqlalchemy import func, select

    from cityid.db import unit_of_work
    from cityid.settings import Settings
    from entry.runtime import build_runtime
    from idcard import service as card_service
    from idcard.models import Card

    settings = Settings(data_dir=Path(env["CITYID_DATA_DIR"]),
                        keyring_path=Path(env["CITYID_KEYRING_PATH"]),
                        database_url=env["CITYID_DATABASE_URL"],
                        status_list_size=int(env["CITYID_STATUS_LIST_SIZE"]))
    runtime = build_runtime(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            ids = session.scalars(select(Card.id).order_by(func.random()).limit(count)).all()
            found = session.scalars(select(Card).where(Card.id.in_(ids))).all()
            return [card_service.credential_of(session, runtime.cards, c) for c in found]
    finally:
        runtime.engine.dispose()


def seed(env: dict[str, str], count: int) -> float:
    log(f"seeding {count:,} cardholders with `cityid seed`")
    started = time.perf_counter()
    cityid(env, "seed", "--cardholders", str(count), timeout=SEED_TIMEOUT)
    seconds = time.perf_counter() - started
    log(f"seeded {count:,} in {seconds:.1f} s ({count / seconds:,.0f} per second)")
    return seconds


def audit_waiting(env: dict[str, str]) -> int:
    from sqlalchemy import text

    from cityid.db import make_engine

    engine = make_engine(env["CITYID_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_pending")).scalar_one())
    finally:
        engine.dispose()


def measure_stage(stage: Stage, env: dict[str, str], args: argparse.Namespace, app: Server,
                  bare: Server, partner_key: str, benefit_id: str) -> None:
    qrs = sample_qr_texts(env, args.sample)
    log(f"{len(qrs)} QR payloads sampled; measuring at {args.connections} connections, "
        f"{args.warmup:.0f} s warm-up + {args.runs} x {args.duration:.0f} s each")
    key = {"Authorization": f"Bearer {partner_key}"}
    run: dict[str, Any] = {"connections": args.connections, "warmup": args.warmup,
                           "seconds": args.duration, "runs": args.runs}
    stage.bare = measure(bare.port, one_of([post("/v1/verify", {"qr": q}, {}) for q in qrs]),
                         server_session=bare.process.pid, **run)
    log(f"bare: {stage.bare.rate:,.0f}/s")
    stage.verify = measure(app.port, one_of([post("/v1/verify", {"qr": q}, key) for q in qrs]),
                           server_session=app.process.pid, **run)
    stage.audit_waiting = audit_waiting(env)
    stage.verify_alone = measure(
        app.port, one_of([post("/v1/verify", {"qr": q}, key) for q in qrs]),
        server_session=app.process.pid, **{**run, "connections": 1})
    log(f"verify: {stage.verify.rate:,.0f}/s; {stage.audit_waiting} audit entries waiting to "
        "be chained right after")
    bodies = [json.dumps({"benefit_id": benefit_id, "qr": q}, separators=(",", ":")).encode()
              for q in qrs]
    head = (f"POST /v1/redemptions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json"
            f"\r\nAuthorization: Bearer {partner_key}\r\n")
    counter = iter(range(10**12))
    run_id = uuid.uuid4().hex[:12]

    def redemption() -> bytes:
        body = random.choice(bodies)
        return (f"{head}Idempotency-Key: bench-{run_id}-{next(counter)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    stage.redeem = measure(app.port, redemption, server_session=app.process.pid, **run)
    log(f"redeem: {stage.redeem.rate:,.0f}/s")


def report(stages: list[Stage], args: argparse.Namespace) -> None:
    print()
    print(f"cityid verification load: {args.workers} server workers, {args.connections} "
          f"connections, median of {args.runs} x {args.duration:.0f} s after "
          f"{args.warmup:.0f} s warm-up; {os.cpu_count()} CPUs, load average at start "
          f"{args.load_at_start}")
    print("The load client, both servers and PostgreSQL share these CPUs: the client's share "
          "is CPU the servers do not get. CPU ms/req: the server processes' CPU (not "
          "PostgreSQL's) per answered request.")
    print()
    print(f"{'cardholders':>12}  {'endpoint':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'vs bare':>9}{'CPU ms/req':>12}")
    for stage in stages:
        assert stage.bare and stage.verify and stage.redeem
        assert stage.verify_alone
        for name, s in (("bare FastAPI", stage.bare), ("POST /v1/verify", stage.verify),
                        ("  (1 connection)", stage.verify_alone),
                        ("POST /v1/redemptions", stage.redeem)):
            print(f"{stage.seeded:>12,}  {name:<22}{s.rate:>9,.0f}{s.percentile_ms(50):>9.1f}"
                  f"{s.percentile_ms(99):>9.1f}{s.errors:>8}{s.rate / stage.bare.rate:>9.2f}"
                  f"{s.cpu_ms_per_request:>12.2f}")
        print(f"{'':>14}audit entries waiting to be chained after the verify runs: "
              f"{stage.audit_waiting}")
        odd = {k: v for k, v in (stage.verify.statuses + stage.redeem.statuses).items()
               if k != 200}
        if odd:
            print(f"{'':>14}non-200 answers: {dict(odd)}")
    print()
    for stage in stages:
        print(f"`cityid seed` of {stage.seed_count:,} cardholders (to {stage.seeded:,}) took "
              f"{stage.seed_seconds:.1f} s ({stage.seed_count / stage.seed_seconds:,.0f} "
              "per second)")
    print()
    first, last = stages[0], stages[-1]
    assert first.verify and first.bare and last.verify and last.bare
    for stage in stages:
        assert stage.verify and stage.bare
        ratio = stage.verify.rate / stage.bare.rate
        p99 = stage.verify.percentile_ms(99)
        print(f"aim at {stage.seeded:,}: verify >= {AIM_RATIO:.1f}x bare: {ratio:.2f} "
              f"{'met' if ratio >= AIM_RATIO else 'MISSED'}; p99 < {AIM_P99_MS:.0f} ms: "
              f"{p99:.1f} {'met' if p99 < AIM_P99_MS else 'MISSED'}")
        if stage.redeem:
            redeem = stage.redeem.rate / stage.bare.rate
            print(f"aim at {stage.seeded:,}: redemptions >= {AIM_REDEEM_RATIO:.2f}x bare: "
                  f"{redeem:.2f} {'met' if redeem >= AIM_REDEEM_RATIO else 'MISSED'}")
    if last is not first:
        growth = last.verify.percentile_ms(99) / first.verify.percentile_ms(99)
        print(f"aim: p99 at {last.seeded:,} within {AIM_GROWTH}x of p99 at {first.seeded:,}: "
              f"{growth:.2f}x {'met' if growth <= AIM_GROWTH else 'MISSED'}")
        assert first.verify_alone and last.verify_alone
        alone = last.verify_alone.percentile_ms(99) / first.verify_alone.percentile_ms(99)
        print(f"  the same on one connection, where queueing does not hide the size: "
              f"{alone:.2f}x {'met' if alone <= AIM_GROWTH else 'MISSED'}")


@contextlib.contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from cityid.db import make_engine

    name = f"cityid_bench_verify_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        log(f"dropped {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9))
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="skip the --large stage")
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop  # a lighter client leaves more of the shared CPUs to the servers

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    args.load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    sizes = [args.small] if args.quick else [args.small, args.large]

    data_dir = Path(tempfile.mkdtemp(prefix="cityid-bench-verify-"))
    servers: list[Server] = []
    try:
        with throwaway_database(args.database_url) as url:
            env = {**os.environ, "CITYID_DATABASE_URL": url, "CITYID_DATA_DIR": str(data_dir),
                   # The throwaway keyring stays in the folder that is removed at the end.
                   "CITYID_KEYRING_PATH": str(data_dir / "keyring.json"),
                   "CITYID_ENV": "development", "CITYID_LOG_LEVEL": "WARNING",
                   "CITYID_STATUS_LIST_SIZE": str(max(131_072, 1 << (2 * max(sizes)).bit_length())),
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE": "100000000",
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE_PER_CLIENT": "100000000"}
            stages = [Stage(sizes[0], sizes[0], seed(env, sizes[0]))]
            cityid(env, "staff", "add", ADMIN, "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
            app_port, bare_port = free_port(), free_port()
            servers.append(start("cityid", [str(CITYID), "serve", "--host", HOST, "--port",
                                            str(app_port), "--workers", str(args.workers)],
                                 env, data_dir, app_port))
            servers.append(start("bare", [sys.executable, "-m", "uvicorn",
                                          "bench.verify_load:bare_app", "--factory", "--host",
                                          HOST, "--port", str(bare_port), "--workers",
                                          str(args.workers), "--no-access-log",
                                          "--no-server-header", "--log-level", "warning"],
                                 env, data_dir, bare_port))
            servers[0].wait_ready("/readyz")
            servers[1].wait_ready("/healthz")
            token = admin_token(lambda path, body: http_json(app_port, "POST", path, body))
            partner = http_json(app_port, "POST", "/v1/partners",
                                {"name": "Bench Museum", "type": "cultural"}, token)
            partner_key = http_json(app_port, "POST", f"/v1/partners/{partner['id']}/keys", {},
                                    token)["key"]
            today = date.today()
            benefit = http_json(app_port, "POST", "/v1/benefits", {
                "partner_id": partner["id"], "name": "Bench admission", "category": "service",
                "limit": {"count": 1000, "period": "calendar_month"},
                "active_from": (today - timedelta(days=1)).isoformat(),
                "active_until": (today + timedelta(days=365)).isoformat()}, token)
            measure_stage(stages[0], env, args, servers[0], servers[1], partner_key,
                          benefit["id"])
            for size in sizes[1:]:
                more = size - stages[-1].seeded
                stages.append(Stage(size, more, seed(env, more)))
                measure_stage(stages[-1], env, args, servers[0], servers[1], partner_key,
                              benefit["id"])
            for server in servers:
                server.stop()
            report(stages, args)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
