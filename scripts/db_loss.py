"""Database loss under verify load, against a real ``cityid serve`` on PostgreSQL.

- makes a throwaway database, seeds cardholders, starts ``cityid serve --workers W``;
- drives ``POST /v1/verify`` from C keep-alive connections for the whole run;
- kills every backend of the database (``pg_terminate_backend``) K times, then takes the database
  away for a few seconds (connections refused) while polling ``/readyz``, then brings it back;
- prints the answers by status and code, connection errors, tracebacks in the server's log, the
  time to heal after each kill and after the outage, and whether the audit matches the answers
  (one ``card.verified`` entry per 200, none for a 503).

Run: ``.venv/bin/python scripts/db_loss.py [--workers 2] [--connections 20] [--kills 3]``
(``--database-url`` is a superuser URL of the PostgreSQL server, default the local one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.verify_load import (  # noqa: E402 - after the path is set
    ADMIN,
    ADMIN_PASSWORD,
    CITYID,
    HOST,
    cityid,
    free_port,
    http_json,
    log,
    sample_qr_texts,
    seed,
    start,
    throwaway_database,
)

DEFAULT_URL = os.environ.get("CITYID_BENCH_DATABASE_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class Answer:
    started: float
    status: int  # 0: no HTTP answer (reset, refused, timed out)
    code: str = ""
    retry_after: str | None = None
    problem_json: bool = False


@dataclass
class Load:
    port: int
    key: str
    qrs: list[str]
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def connection(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=f"http://{HOST}:{self.port}", timeout=30) as client:
            n = index
            while not self.stop.is_set():
                n += 1
                started = time.monotonic()
                try:
                    response = client.post("/v1/verify", headers=headers,
                                           json={"qr": self.qrs[n % len(self.qrs)]})
                except httpx.HTTPError:
                    answer = Answer(started, 0)
                else:
                    problem = response.headers.get("content-type", "").startswith(
                        "application/problem+json")
                    answer = Answer(started, response.status_code,
                                    response.json().get("code", "") if problem else "",
                                    response.headers.get("retry-after"), problem)
                with self.lock:
                    self.answers.append(answer)


def terminate_backends(admin_url: str, database: str) -> int:
    from sqlalchemy import text

    from cityid.db import make_engine

    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})
                .scalar_one())
    finally:
        engine.dispose()


def allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    from sqlalchemy import text

    from cityid.db import make_engine

    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS '
                              f'{"true" if allowed else "false"}'))
    finally:
        engine.dispose()


def audited_verifications(url: str) -> int:
    from sqlalchemy import text

    from cityid.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT (SELECT count(*) FROM audit_log WHERE action = 'card.verified') + "
                "(SELECT count(*) FROM audit_pending WHERE action = 'card.verified')"))
                .scalar_one())
    finally:
        engine.dispose()


def heal_time(answers: list[Answer], since: float) -> float | None:
    """Seconds from ``since`` to the first 200 of a request sent after it."""
    served = [a.started for a in answers if a.status == 200 and a.started >= since]
    return min(served) - since if served else None


def readyz(port: int) -> int:
    try:
        return httpx.get(f"http://{HOST}:{port}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def run(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="cityid-db-loss-"))
    server = None
    try:
        with throwaway_database(args.database_url) as url:
            database = url.rsplit("/", 1)[1]
            env = {**os.environ, "CITYID_DATABASE_URL": url, "CITYID_DATA_DIR": str(data_dir),
                   "CITYID_ENV": "development", "CITYID_LOG_LEVEL": "WARNING",
                   "CITYID_STATUS_LIST_SIZE": "131072",
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE": "100000000",
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE_PER_CLIENT": "100000000"}
            seed(env, args.cardholders)
            cityid(env, "staff", "add", ADMIN, "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
            port = free_port()
            server = start("cityid", [str(CITYID), "serve", "--host", HOST, "--port", str(port),
                                      "--workers", str(args.workers)], env, data_dir, port)
            server.wait_ready("/readyz")
            token = http_json(port, "POST", "/v1/auth/token",
                              {"username": ADMIN, "password": ADMIN_PASSWORD})["access_token"]
            partner = http_json(port, "POST", "/v1/partners",
                                {"name": "Loss Museum", "type": "cultural"}, token)
            key = http_json(port, "POST", f"/v1/partners/{partner['id']}/keys", {}, token)["key"]
            load = Load(port, key, sample_qr_texts(env, 200))
            threads = [threading.Thread(target=load.connection, args=(i,), daemon=True)
                       for i in range(args.connections)]
            for thread in threads:
                thread.start()
            time.sleep(args.settle)
            kills: list[tuple[float, int]] = []
            for _ in range(args.kills):
                kills.append((time.monotonic(), terminate_backends(args.database_url, database)))
                time.sleep(args.gap)
            log(f"taking the database away for {args.outage:.0f} s")
            allow_connections(args.database_url, database, False)
            outage_started = time.monotonic()
            terminate_backends(args.database_url, database)
            ready_during: Counter[int] = Counter()
            while time.monotonic() - outage_started < args.outage:
                ready_during[readyz(port)] += 1
                time.sleep(0.2)
            allow_connections(args.database_url, database, True)
            back = time.monotonic()
            time.sleep(args.settle)
            load.stop.set()
            for thread in threads:
                thread.join()
            ready_after = readyz(port)
            server.stop()  # the server chains what is waiting as it stops
            audited = audited_verifications(url)
            tracebacks = server.log_path.read_text(errors="replace").count("Traceback")
            report(args, load.answers, kills, outage_started, back, ready_during, ready_after,
                   audited, tracebacks)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(args: argparse.Namespace, answers: list[Answer], kills: list[tuple[float, int]],
           outage_started: float, back: float, ready_during: Counter[int], ready_after: int,
           audited: int, tracebacks: int) -> None:
    by_status = Counter((a.status, a.code) for a in answers)
    ok = sum(n for (status, _), n in by_status.items() if status == 200)
    unavailable = [a for a in answers if a.status == 503]
    print(f"\ncityid database loss: {args.workers} workers, {args.connections} connections of "
          f"POST /v1/verify, {len(kills)} kills of every backend, then {args.outage:.0f} s "
          "with connections refused")
    print(f"requests answered: {len(answers)}")
    for (status, code), n in sorted(by_status.items()):
        print(f"  {status or 'no answer'} {code or ''}: {n}")
    bad = [a for a in unavailable if not (a.problem_json and a.retry_after)]
    print(f"503s without problem+json or Retry-After: {len(bad)}")
    for at, killed in kills:
        healed = heal_time(answers, at)
        print(f"kill of {killed} backends: served again after "
              f"{'never' if healed is None else f'{healed:.3f} s'}")
    print(f"outage: /readyz during it {dict(ready_during)}; first 200 after the database came "
          f"back: {heal_time(answers, back) or float('nan'):.3f} s; /readyz after: {ready_after}")
    print(f"tracebacks in the server log: {tracebacks}")
    print(f"audit: {audited} card.verified entries for {ok} answers 200 "
          f"({'match' if audited == ok else 'MISMATCH'})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--cardholders", type=int, default=300)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between kills")
    parser.add_argument("--outage", type=float, default=3.0)
    parser.add_argument("--settle", type=float, default=3.0)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
