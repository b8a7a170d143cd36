"""A release rush on public booking, on the real server and PostgreSQL, next to a bare
FastAPI endpoint in the same run.

What it does, all on 127.0.0.1:
- creates a throwaway PostgreSQL database and a temporary data dir, migrates, adds an admin;
- starts ``cityid serve --workers W`` (trusting X-Forwarded-For from loopback, so each
  simulated resident is its own client for the throttles) and, as the baseline, uvicorn with
  the same worker count serving ``bare_app`` below: one POST endpoint that parses the same
  booking body and answers a constant;
- per run, makes a fresh site whose day tomorrow has ``--slots`` slots, then fires
  ``--clients`` booking requests at once, ``--clients / --slots`` residents for every slot,
  over ``--connections`` keep-alive connections; the same rush goes to the bare endpoint;
- reports, as the median of ``--runs`` runs: bookings per second (201s over the rush's wall
  time), requests per second, p50 and p99 latency, the answers by status, and slots
  double-booked (read back from the database; must be 0), with the bare endpoint's figures
  and the ratio.

The load client, both servers and PostgreSQL share this machine's cores, so the figures are
a floor.

Run: ``.venv/bin/python -m bench.appointments [--clients 2000] [--slots 200]
[--connections 64] [--runs 3] [--workers 2]
[--database-url postgresql://postgres@127.0.0.1:5432/postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pydantic import BaseModel

from bench.verify_load import (
    ADMIN,
    ADMIN_PASSWORD,
    CITYID,
    DEFAULT_URL,
    HOST,
    Server,
    _read_response,
    admin_token,
    cityid,
    free_port,
    http_json,
    log,
    start,
    throwaway_database,
)

ZONE = "America/New_York"
SLOT_MINUTES = 20


class BareBooking(BaseModel):
    slot_id: uuid.UUID
    first_name: str
    party_size: int = 1


def bare_app() -> FastAPI:
    """The baseline: FastAPI and uvicorn for the same request shape, and no more."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/appointments", status_code=201)
    def book(body: BareBooking) -> dict[str, Any]:
        return {"code": "ABCD-EFGH-JK1", "status": "booked"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Rush:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    double_booked: int = 0
    booked_in_db: int = 0

    @property
    def bookings_per_second(self) -> float:
        return self.statuses[201] / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def _request(slot_id: str, client: str) -> bytes:
    body = json.dumps({"slot_id": slot_id, "first_name": "Rush", "party_size": 1}).encode()
    return (f"POST /v1/appointments HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Forwarded-For: {client}\r\n\r\n").encode() + body


async def _rush(port: int, requests: list[bytes], connections: int) -> Rush:
    rush, queue = Rush(), list(reversed(requests))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while queue:
                payload = queue.pop()
                started = time.perf_counter()
                writer.write(payload)
                try:
                    status: int | str = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status = "dropped"
                    writer.close()
                    reader, writer = await asyncio.open_connection(HOST, port)
                rush.latencies.append(time.perf_counter() - started)
                rush.statuses[status] += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    rush.seconds = time.perf_counter() - began
    return rush


def _site_for_rush(port: int, token: str, slots: int, run: int) -> list[str]:
    desks = 10 if slots % 10 == 0 else 1
    minutes = slots // desks * SLOT_MINUTES
    opens = datetime(2000, 1, 1, 8, 0)
    closes = opens + timedelta(minutes=minutes)
    if closes.day != opens.day:
        raise SystemExit("--slots too many for one day; use a multiple of 10 up to 4,800")
    hours = {day: [["08:00", closes.strftime("%H:%M")]] for day in
             ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
    site = http_json(port, "POST", "/v1/sites", {
        "name": f"Rush site {run} {uuid.uuid4().hex[:6]}", "address": "1 Centre Street",
        "time_zone": ZONE, "hours": hours, "desks": desks, "slot_minutes": SLOT_MINUTES},
        token)
    tomorrow = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).date()
    http_json(port, "POST", f"/v1/sites/{site['id']}/slots",
              {"through": tomorrow.isoformat()}, token)
    found = http_json(port, "GET", f"/v1/appointments/sites/{site['id']}/slots"
                      f"?from={tomorrow.isoformat()}&days=1")
    ids = [s["id"] for s in found]
    if len(ids) != slots:
        raise RuntimeError(f"expected {slots} open slots, found {len(ids)}")
    return ids


def _double_booked(database_url: str, slot_ids: list[str]) -> tuple[int, int]:
    from sqlalchemy import func, select

    from appointments.models import Appointment
    from cityid.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            wanted = [uuid.UUID(s) for s in slot_ids]
            counts = conn.execute(select(Appointment.slot_id, func.count())
                                  .where(Appointment.slot_id.in_(wanted))
                                  .group_by(Appointment.slot_id)).all()
    finally:
        engine.dispose()
    return sum(1 for _, n in counts if n > 1), sum(n for _, n in counts)


def report(app: list[Rush], bare: list[Rush], args: argparse.Namespace) -> None:
    def med(rushes: list[Rush], fn: Callable[[Rush], float]) -> float:
        return float(statistics.median(fn(r) for r in rushes))

    rows: list[tuple[str, Callable[[Rush], float]]] = [
            ("bookings/s (201s over the rush)", lambda r: r.bookings_per_second),
            ("requests/s", lambda r: r.requests_per_second),
            ("p50 ms", lambda r: r.percentile_ms(0.50)),
            ("p99 ms", lambda r: r.percentile_ms(0.99)),
            ("rush wall time s", lambda r: r.seconds)]
    print(f"\nRelease rush: {args.clients} clients for {args.slots} slots over "
          f"{args.connections} connections, {args.workers} workers, median of {args.runs} runs"
          f" (load at start {args.load_at_start})")
    print(f"{'':34} {'cityid':>10} {'bare':>10} {'ratio':>8}")
    for label, fn in rows:
        a, b = med(app, fn), med(bare, fn)
        print(f"{label:34} {a:10.1f} {b:10.1f} {a / b if b else 0:8.2f}")
    for i, rush in enumerate(app, 1):
        print(f"run {i}: answers {dict(sorted(rush.statuses.items(), key=str))}, "
              f"appointments on the rush's slots {rush.booked_in_db}, "
              f"slots double-booked {rush.double_booked}")
    worst = max(r.double_booked for r in app)
    fivexx = sum(n for r in app for s, n in r.statuses.items() if isinstance(s, int) and s >= 500)
    print(f"slots double-booked (all runs): {worst}  (must be 0); 5xx answers: {fivexx}")
    if worst:
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=200)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9))
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args(argv)
    args.load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    data_dir = Path(tempfile.mkdtemp(prefix="cityid-bench-appointments-"))
    servers: list[Server] = []
    try:
        with throwaway_database(args.database_url) as url:
            env = {**os.environ, "CITYID_DATABASE_URL": url, "CITYID_DATA_DIR": str(data_dir),
                   "CITYID_KEYRING_PATH": str(data_dir / "keyring.json"),
                   "CITYID_ENV": "development", "CITYID_LOG_LEVEL": "WARNING",
                   "CITYID_TRUSTED_PROXIES": "127.0.0.1"}
            cityid(env, "db", "upgrade")
            cityid(env, "staff", "add", ADMIN, "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
            app_port, bare_port = free_port(), free_port()
            servers.append(start("cityid", [str(CITYID), "serve", "--host", HOST, "--port",
                                            str(app_port), "--workers", str(args.workers)],
                                 env, data_dir, app_port))
            servers.append(start("bare", [sys.executable, "-m", "uvicorn",
                                          "bench.appointments:bare_app", "--factory", "--host",
                                          HOST, "--port", str(bare_port), "--workers",
                                          str(args.workers), "--no-access-log",
                                          "--no-server-header", "--log-level", "warning"],
                                 env, data_dir, bare_port))
            servers[0].wait_ready("/readyz")
            servers[1].wait_ready("/healthz")
            app_runs, bare_runs = [], []
            token = admin_token(lambda path, body: http_json(app_port, "POST", path, body))
            for run in range(1, args.runs + 1):
                slots = _site_for_rush(app_port, token, args.slots, run)
                requests = [_request(slots[i % len(slots)],
                                     f"10.{run}.{i // 250 % 250}.{i % 250 + 1}")
                            for i in range(args.clients)]
                rush = asyncio.run(_rush(app_port, requests, args.connections))
                rush.double_booked, rush.booked_in_db = _double_booked(url, slots)
                app_runs.append(rush)
                bare_runs.append(asyncio.run(_rush(bare_port, requests, args.connections)))
                log(f"run {run}: {rush.statuses[201]} booked in {rush.seconds:.2f} s")
            for server in servers:
                server.stop()
            report(app_runs, bare_runs, args)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
