"""How long the public status check takes to say "no", for each way of being wrong.

An unknown reference, a malformed one and a known reference with a wrong date of birth get one
answer, and must take the same time, or the time tells an attacker which references exist. This
times ``enrollment.status_check.check_status`` (the service, with its database reads, key unwrap and
decryption; no HTTP, no transaction set-up) for each, alternating check by check, on a fresh
SQLite file or the PostgreSQL named, and prints the medians next to the first, which is the
baseline of the same run. It counts the thread's CPU time: on a shared machine the wall clock
mostly measures the neighbours.

Run: ``.venv/bin/python -m bench.status_check_timing [--rounds 20] [--checks 50]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from cityid.db import unit_of_work
from cityid.migrate import upgrade
from cityid.ratelimit import Limit
from cityid.settings import Settings
from enrollment import service as enrollment
from enrollment import status_check as enrollment_status
from enrollment.errors import StatusCheckNotFound
from enrollment.schemas import ApplicationCreate
from enrollment.service import StatusCheckPolicy
from entry.models import import_all_models
from entry.runtime import build_runtime
from privacy.audit import Actor

BORN, WRONG = date(1987, 3, 14), date(1990, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    import_all_models()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'cityid.db'}"
        upgrade(url)
        settings = Settings(env="development", data_dir=Path(folder) / "var", database_url=url)
        runtime = build_runtime(settings)
        with unit_of_work(runtime.sessions) as session:
            reference = enrollment.create_application(
                session, desk=runtime.enrollment, actor=Actor("bench", "clerk"),
                data=ApplicationCreate(first_name="Zephyrine", last_name="Quill",
                                       date_of_birth=BORN)).reference
        # Limits no check reaches: the throttle's own cost is the same on every path.
        policy = StatusCheckPolicy(per_reference=Limit("status:reference", 10**9, 3600),
                                   per_client=Limit("status:client", 10**9, 3600),
                                   successes_per_reference=Limit("status:ok", 10**9, 3600))
        cases = {"unknown reference": ("0000-0000-0000", WRONG),
                 "wrong date of birth": (reference, WRONG),
                 "malformed reference": ("not a reference", WRONG)}
        times: dict[str, list[float]] = {name: [] for name in cases}
        # The cases alternate check by check, so a busy moment of the machine falls on all.
        for _ in range(args.rounds * args.checks):
            for name, (ref, born) in cases.items():
                with unit_of_work(runtime.sessions) as session:
                    started = time.thread_time()
                    with contextlib.suppress(StatusCheckNotFound):
                        enrollment_status.check_status(
                            session, desk=runtime.enrollment, limiter=runtime.limiter,
                            policy=policy, reference=ref, date_of_birth=born, lang="en",
                            client="bench")
                    times[name].append((time.thread_time() - started) * 1000)
                    session.rollback()
        runtime.engine.dispose()
    baseline = statistics.median(times["unknown reference"])
    print(f"status check, {runtime.engine.dialect.name}, {args.rounds * args.checks} checks "
          "of each kind, alternating, median CPU ms per check (inside its transaction):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:22s} {median:7.3f} ms  ({median - baseline:+.3f} ms vs unknown reference)")


if __name__ == "__main__":
    main()
