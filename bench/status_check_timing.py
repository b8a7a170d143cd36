"""How long the public status check takes to say "no", for each way of being wrong.

An unknown reference, a malformed one and a known reference with a wrong date of birth get one
answer, and must take the same time, or the time tells an attacker which references exist. This
times ``enrollment.service.check_status`` (the service, with its database reads, key unwrap and
decryption; no HTTP) for each, in alternating rounds, on a fresh SQLite file or the PostgreSQL
named, and prints the medians next to the first, which is the baseline of the same run.

Run: ``.venv/bin/python -m bench.status_check_timing [--rounds 20] [--checks 50]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from api.runtime import build_runtime
from cityid.db import unit_of_work
from cityid.migrate import upgrade
from cityid.models import import_all_models
from cityid.settings import Settings
from enrollment import service as enrollment
from enrollment.errors import StatusCheckNotFound
from enrollment.schemas import ApplicationCreate
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
        policy = runtime.status_check_policy
        cases = {"unknown reference": ("0000-0000-0000", WRONG),
                 "wrong date of birth": (reference, WRONG),
                 "malformed reference": ("not a reference", WRONG)}
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (ref, born) in cases.items():
                started = time.perf_counter()
                for _ in range(args.checks):
                    runtime.limiter.reset()  # timing the work, not the throttle
                    try:
                        with unit_of_work(runtime.sessions) as session:
                            enrollment.check_status(
                                session, desk=runtime.enrollment, limiter=runtime.limiter,
                                policy=policy, reference=ref, date_of_birth=born, lang="en",
                                client="bench")
                    except StatusCheckNotFound:
                        pass
                times[name].append((time.perf_counter() - started) / args.checks * 1000)
        runtime.engine.dispose()
    baseline = statistics.median(times["unknown reference"])
    print(f"status check, {runtime.engine.dialect.name}, {args.rounds} rounds of "
          f"{args.checks} checks each, median ms per check:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:22s} {median:7.3f} ms  ({median - baseline:+.3f} ms vs unknown reference)")


if __name__ == "__main__":
    main()
