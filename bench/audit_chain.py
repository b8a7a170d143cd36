"""The audit chainer's CPU per entry, next to the bare cost of what it must do in the same run.

Each run records ``--entries`` entries into ``audit_pending`` through ``privacy.audit.record``
(not timed), then links them into the chain as the ``Chainer`` thread does: ``chain_pending``
with ``--batch`` entries per transaction until nothing waits. Two baselines, measured on the
same rows in the same run just before the chainer:

- ``entry_hash``: the SHA-256 over each entry's canonical JSON, which no chainer can skip;
- ``bare read``: one Core ``SELECT`` of the waiting rows' columns, without building objects.

The figure is process CPU (``time.process_time``) per entry, so on SQLite it includes the
database's own work (it runs in this process) and on PostgreSQL only the client's: the server's
CPU is not counted. Wall time per entry is printed too. Medians of ``--runs`` runs.

Run: ``.venv/bin/python bench/audit_chain.py [--entries 20000] [--runs 3] [--batch 1000]
[--database-url postgresql://postgres@127.0.0.1:5432/postgres]``. Without ``--database-url`` the
database is a throwaway SQLite file; with one, a throwaway database ``cityid_bench_audit_*`` is
created on that PostgreSQL server and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# bench/appointments.py would shadow the ``appointments`` package the migrations import.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from cityid.db import make_engine, session_factory, unit_of_work
from cityid.migrate import upgrade
from privacy import audit
from privacy.models import PendingAuditEntry

ACTOR = audit.Actor("bench-clerk", "clerk")
MAC_KEY = bytes(range(32))
RECORD_BATCH = 2000


@dataclass(frozen=True)
class Run:
    chainer_cpu: float  # microseconds per entry
    chainer_wall: float
    hash_cpu: float
    read_cpu: float


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A migrated throwaway database: a SQLite file, or a new database on the server ``url``."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="cityid-bench-audit-") as tmp:
            path = f"sqlite:///{Path(tmp) / 'audit.db'}"
            upgrade(path)
            yield path
        return
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL server")
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"cityid_bench_audit_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        bench_url = make_url(url).set(database=name).render_as_string(hide_password=False)
        upgrade(bench_url)
        yield bench_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cpu_and_wall(work: Callable[[], int]) -> tuple[int, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    done = work()
    return done, time.process_time() - cpu, time.perf_counter() - wall


def one_run(url: str, entries: int, batch: int, run_number: int) -> Run:
    engine = make_engine(url)
    sessions = session_factory(engine)
    audit.bind_mac_key(sessions, lambda: MAC_KEY)
    try:
        for start in range(0, entries, RECORD_BATCH):
            with unit_of_work(sessions) as session:
                for i in range(start, min(start + RECORD_BATCH, entries)):
                    audit.record(session, actor=ACTOR, action="seed.batch",
                                 subject=f"application:{run_number}-{i}", detail={"count": i})

        columns = (PendingAuditEntry.id, PendingAuditEntry.at, PendingAuditEntry.actor,
                   PendingAuditEntry.role, PendingAuditEntry.action, PendingAuditEntry.subject,
                   PendingAuditEntry.purpose, PendingAuditEntry.detail, PendingAuditEntry.mac)
        rows: list[Any] = []

        def bare_read() -> int:
            with engine.connect() as conn:
                rows.extend(conn.execute(select(*columns).order_by(PendingAuditEntry.id)).all())
            return len(rows)

        def hashes() -> int:
            prev = "0" * 64
            for n, row in enumerate(rows):
                prev = audit.entry_hash(prev, seq=n + 1, at=row.at, actor=row.actor,
                                        role=row.role, action=row.action, subject=row.subject,
                                        purpose=row.purpose, detail=row.detail)
            return len(rows)

        def chain() -> int:
            linked = 0
            while True:
                with unit_of_work(sessions) as session:
                    n = audit.chain_pending(session, limit=batch, wait=True)
                if n == 0:
                    return linked
                linked += n

        read_n, read_cpu, _ = cpu_and_wall(bare_read)
        hash_n, hash_cpu, _ = cpu_and_wall(hashes)
        linked, chain_cpu, chain_wall = cpu_and_wall(chain)
        assert read_n == hash_n == linked == entries, (read_n, hash_n, linked, entries)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(PendingAuditEntry)).scalar() == 0
        with unit_of_work(sessions) as session:
            report = audit.verify_chain(session)
        assert report.ok, report
        micro = 1e6 / entries
        return Run(chain_cpu * micro, chain_wall * micro, hash_cpu * micro, read_cpu * micro)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000,
                        help="entries per chainer transaction (the Chainer's default)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server; a throwaway SQLite file when omitted")
    args = parser.parse_args(argv)

    with database(args.database_url) as url:
        backend = make_url(url).get_backend_name()
        print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus, "
              f"{backend}; {args.entries} entries a run, {args.batch} per chainer transaction, "
              f"medians of {args.runs} runs (the chain keeps growing across runs)")
        runs = []
        for number in range(args.runs):
            run = one_run(url, args.entries, args.batch, number)
            print(f"  run {number + 1}: chainer {run.chainer_cpu:6.1f} us CPU/entry "
                  f"({run.chainer_wall:6.1f} us wall), entry_hash {run.hash_cpu:5.1f}, "
                  f"bare read {run.read_cpu:5.1f}")
            runs.append(run)

    def median(pick: Callable[[Run], float]) -> float:
        return statistics.median(pick(run) for run in runs)

    chainer, wall = median(lambda r: r.chainer_cpu), median(lambda r: r.chainer_wall)
    hashing, reading = median(lambda r: r.hash_cpu), median(lambda r: r.read_cpu)
    print(f"chainer (chain_pending, CPU):           {chainer:8.1f} us/entry")
    print(f"chainer (wall):                         {wall:8.1f} us/entry")
    print(f"baseline entry_hash alone (CPU):        {hashing:8.1f} us/entry")
    print(f"baseline bare Core read of rows (CPU):  {reading:8.1f} us/entry")
    print(f"ratio chainer / entry_hash:             {chainer / hashing:8.2f}")
    print(f"ratio chainer / (entry_hash + read):    {chainer / (hashing + reading):8.2f}")


if __name__ == "__main__":
    main()
