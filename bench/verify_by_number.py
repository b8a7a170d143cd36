"""Verification by card number and date of birth: the time of an unknown number next to a known
number with the wrong date of birth, which must be one answer in one time, with the right date
of birth as the baseline measured in the same run.

It calls ``redemption.verification.check_presented`` in a fresh transaction per check (what one
request does beyond authentication and the audit entry), one check of each path in turn so the
machine's load falls on every path alike, and prints medians in microseconds and the median of
the paired differences. Timings are printed, never
asserted: the tests prove the paths call the same work (tests/redemption/test_verify_by_number.py).

Run: ``.venv/bin/python -m bench.verify_by_number [--rounds 20] [--checks 50]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`` (default: a SQLite file
in a temporary folder; on PostgreSQL, a throwaway database made on that server).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from api.runtime import Runtime
from bench.verify_load import throwaway_database
from cityid.db import unit_of_work
from cityid.errors import Throttled
from cityid.migrate import upgrade
from cityid.ratelimit import Limit, RateLimiter
from cityid.settings import Settings
from enrollment import service as enrollment
from entry.runtime import build_runtime
from idcard import repository as card_repository
from idcard import seed as seeding
from idcard import service as cards
from idcard.service import ensure_signing_key
from privacy.audit import Actor
from redemption.errors import CardNotRecognised
from redemption.schemas import CardPresented
from redemption.verification import NumberGuard, check_presented

UNKNOWN_NUMBER = "4000000000000002"


class _Uncounted(RateLimiter):
    """The throttle is one and the same call on every path, and the in-memory moving window
    costs more the more checks it holds (and starts a timer thread when emptied), which would
    drown what is measured here: it is left out."""

    def consume(self, limit: Limit, key: str, error: type[Throttled] = Throttled) -> None:
        return None


def _runtime(folder: Path, database_url: str | None) -> Runtime:
    settings = Settings.model_validate({
        "env": "development", "data_dir": folder,
        **({"database_url": database_url} if database_url else {}),
        })
    upgrade(settings.effective_database_url)
    runtime = build_runtime(settings)
    ensure_signing_key(runtime.vault, runtime.clock.now())
    return runtime


def _a_card(runtime: Runtime) -> tuple[str, date]:
    desk = runtime.cards
    seeding.seed(runtime.sessions, seeding.plan(runtime.sessions, desk=desk, count=20),
                 desk=desk, actor=Actor("bench", "admin"), batch=20, workers=1)
    with unit_of_work(runtime.sessions) as session:
        queued = card_repository.cards_to_print(session, ("queued", "printed", "mailed",
                                                          "ready_for_pickup", "picked_up"), 1)
        assert queued, "the seeded database has no card"
        card = queued[0]
        number = cards.card_number_of(session, desk, card)
        born = enrollment.read_holder(session, vault=desk.vault,
                                      resident_id=card.resident_id).date_of_birth
    return number, born


def _timer(runtime: Runtime, number: str, born: date) -> Callable[[], float]:
    presented = CardPresented(card_number=number, date_of_birth=born)

    guard = NumberGuard(_Uncounted(), runtime.number_guard.per_card)

    def one() -> float:
        with unit_of_work(runtime.sessions) as session:
            start = time.perf_counter()
            with contextlib.suppress(CardNotRecognised):
                check_presented(session, desk=runtime.cards, guard=guard,
                                presented=presented, now=runtime.clock.now())
            return time.perf_counter() - start
    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--checks", type=int, default=50, help="checks per path per round")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        # On PostgreSQL, a database of its own, dropped at the end: never the server's own.
        url = (stack.enter_context(throwaway_database(args.database_url))
               if args.database_url else None)
        runtime = _runtime(Path(folder), url)
        number, born = _a_card(runtime)
        paths = {
            "unknown number": _timer(runtime, UNKNOWN_NUMBER, born),
            "wrong date of birth": _timer(runtime, number, date(1901, 1, 1)),
            "right date of birth (baseline)": _timer(runtime, number, born),
        }
        for timer in paths.values():  # warm: the decoy, the caches, the connection pool
            timer()
        # One check of each path in turn, so a burst of load elsewhere falls on all three.
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds * args.checks):
            for name, timer in paths.items():
                samples[name].append(timer())
        runtime.engine.dispose()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"check by number on {backend}, medians of {args.rounds * args.checks} checks each:")
    for name, values in samples.items():
        print(f"  {name:<32} {statistics.median(values) * 1e6:8.1f} us")
    paired = [w - u for w, u in zip(samples["wrong date of birth"], samples["unknown number"],
                                    strict=True)]
    print(f"  wrong date of birth - unknown    {statistics.median(paired) * 1e6:+8.1f} us "
          "(median of paired differences)")


if __name__ == "__main__":
    main()
