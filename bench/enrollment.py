"""Enrollment on PostgreSQL through the service layer, against the same calls with encryption
switched off, measured in the same run; then the public status check at growing table sizes,
against the bare indexed SELECT of the application row.

- Enrollment: ``enrollment.service.create_application`` for ``--applicants`` synthetic
  applicants, committed every ``--batch``. The baseline makes the same calls on the same rows with
  ``PlaintextVault`` below: its record ciphers keep the format marker but do not encrypt, and its
  data keys are dummy rows, so the database work is the same. Blind indexes and pseudonyms stay
  real HMAC-SHA256 in both. The modes alternate, ``--runs`` times each, on one throwaway database
  truncated between runs.
- Status check: ``enrollment.status_check.check_status`` in its own transaction, as in a
  request, for a known reference with the right date of birth, a wrong one, and an unknown
  reference; the baseline is ``SELECT`` of the application row by ``reference_index``.
  Measured at each size in ``--status-at``, filling the table through ``create_application``
  in larger transactions.

Run: ``.venv/bin/python bench/enrollment.py [--database-url postgresql://postgres@127.0.0.1/postgres]
[--applicants 10000] [--runs 3] [--status-at 10000,100000]``. The database ``cityid_bench_*`` is
created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

# This file's name would shadow the ``enrollment`` package when run as a script from bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.runtime import Runtime
from cityid.clock import Clock
from cityid.db import make_engine, unit_of_work
from cityid.migrate import upgrade
from cityid.ratelimit import Limit, RateLimiter
from cityid.settings import Settings
from enrollment.errors import StatusCheckNotFound
from enrollment.models import Application
from enrollment.reference import new_reference, normalise_reference
from enrollment.residents import age_on
from enrollment.rulebook import Rulebook
from enrollment.schemas import (
    Address,
    ApplicationCreate,
    CareOf,
    Caretaker,
    Designations,
    EmergencyContact,
)
from enrollment.service import EnrollmentDesk, StatusCheckPolicy, create_application
from enrollment.status_check import check_status
from entry.runtime import build_runtime
from privacy import repository as privacy_repository
from privacy.audit import Actor
from privacy.errors import DataKeyShredded, DecryptionFailed
from privacy.keyring import KeyProvider
from privacy.models import DataKey
from privacy.vault import FIELD_FORMAT, NONCE_BYTES, DataKeyHandle, RecordCipher, Vault

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ACTOR = Actor("bench", "clerk")
SEED = 20240611
# A wrapped DEK is a nonce, the 32-byte key and the GCM tag; the dummy row stores as many bytes.
WRAPPED_DEK_BYTES = NONCE_BYTES + 32 + 16


# --- encryption switched off ----------------------------------------------------------------


class PlaintextRecordCipher(RecordCipher):
    """Same format marker and the same checks on open, but the value is stored as it is."""

    def seal(self, column: str, plaintext: bytes) -> bytes:
        return FIELD_FORMAT + plaintext

    def open(self, column: str, blob: bytes) -> bytes:
        if not blob or blob[:1] != FIELD_FORMAT:
            raise DecryptionFailed(f"{self.table}.{column} is not a sealed value")
        return blob[1:]


# RecordCipher carries an AEAD; the plaintext cipher never calls it.
_UNUSED_AEAD = AESGCM(bytes(range(32)))


class PlaintextDataKeyHandle(DataKeyHandle):
    def __init__(self, owner_id: uuid.UUID) -> None:
        self.owner_id = owner_id

    def record(self, table: str, row_id: uuid.UUID) -> RecordCipher:
        return PlaintextRecordCipher(_UNUSED_AEAD, table, row_id)


class PlaintextVault(Vault):
    """Writes and reads a data-key row per resident like ``Vault``, but generates, wraps and
    unwraps no key. ``blind_index`` and ``pseudonym`` are inherited: real HMAC-SHA256."""

    def __init__(self, provider: KeyProvider, clock: Clock) -> None:
        super().__init__(provider, clock)
        self._now = clock.now

    def create_data_key(self, session: Session, owner_id: uuid.UUID) -> DataKeyHandle:
        privacy_repository.add_data_key(session, DataKey(
            owner_id=owner_id, kek_version=self.keyring.active_kek,
            wrapped_dek=bytes(WRAPPED_DEK_BYTES), created_at=self._now()))
        return PlaintextDataKeyHandle(owner_id)

    def open_data_key(self, session: Session, owner_id: uuid.UUID) -> DataKeyHandle:
        if privacy_repository.get_data_key(session, owner_id) is None:
            raise DataKeyShredded()
        return PlaintextDataKeyHandle(owner_id)


# --- synthetic applicants -------------------------------------------------------------------

SYLLABLES = ("al", "an", "bel", "cor", "da", "el", "fen", "gar", "ha", "is", "jo", "ka", "lin",
             "ma", "nor", "ol", "pe", "quin", "ra", "sol", "ta", "ul", "ve", "wen", "xi", "yo",
             "za", "ri", "mi", "lo", "ne", "bri")
ACCENTED = ("Zoë", "José", "Søren", "Chloé", "Björn", "Łucja", "Dương", "Ñuño", "Anaïs", "Jürgen")
STREETS = ("Main St", "Oak Ave", "Fulton St", "Grand Concourse", "Atlantic Ave", "Broadway",
           "Pelham Pkwy", "Jamaica Ave", "Court St", "Victory Blvd")
CITIES = ("Bronx", "Brooklyn", "New York", "Queens", "Staten Island")
SHELTERS = ("Bowery Mission", "Covenant House", "Win Shelter", "Safe Haven Center")
LANGUAGES = ("en", "es", "zh", "ru", "bn", "ht", "ko", "ar", "fr", "pl")
RELATIONSHIPS = ("parent", "legal_guardian", "foster_parent", "relative")
REPEAT_SHARE = 0.005  # applicants who apply again: the duplicate check finds them


def _name(rng: random.Random, low: int, high: int) -> str:
    if rng.random() < 0.03:
        return rng.choice(ACCENTED)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high))).capitalize()


def _phone(rng: random.Random, area: str) -> str:
    return f"+1 {area} {rng.randint(200, 999)} {rng.randint(0, 9999):04}"


def _address(rng: random.Random) -> Address:
    return Address(line1=f"{rng.randint(1, 4999)} {rng.choice(STREETS)}",
                   line2=f"Apt {rng.randint(1, 40)}{rng.choice('ABCDEF')}"
                   if rng.random() < 0.4 else None,
                   city=rng.choice(CITIES), state="NY", postal_code=f"{rng.randint(10001, 11697)}")


def _applicant(rng: random.Random, today: date, rulebook: Rulebook) -> ApplicationCreate:
    born = today - timedelta(days=rng.randint(rulebook.minimum_age * 366, 90 * 365))
    home = rng.random()
    address = _address(rng) if home < 0.9 else None
    care_of = None
    if 0.9 <= home < 0.95:
        street = _address(rng)
        care_of = CareOf(organisation=rng.choice(SHELTERS), line1=street.line1, city=street.city,
                         state=street.state, postal_code=street.postal_code)
    caretaker = None
    if rulebook.needs_caretaker(age_on(born, today)):
        caretaker = Caretaker(first_name=_name(rng, 2, 3), last_name=_name(rng, 2, 4),
                              relationship=rng.choice(RELATIONSHIPS))
    first, last = _name(rng, 2, 3), _name(rng, 2, 4)
    contact = None
    if rng.random() < 0.3:
        contact = EmergencyContact(name=f"{_name(rng, 2, 3)} {_name(rng, 2, 3)}",
                                   phone=_phone(rng, "718"))
    return ApplicationCreate(
        first_name=first,
        middle_name=_name(rng, 1, 2) if rng.random() < 0.3 else None,
        last_name=last, date_of_birth=born, address=address, care_of=care_of,
        phone=_phone(rng, "347") if rng.random() < 0.6 else None,
        email=f"{first.lower()}.{rng.randint(1, 999)}@example.org" if rng.random() < 0.5 else None,
        designations=Designations(
            gender=rng.choice(("F", "M", "X", None)),
            languages=rng.sample(LANGUAGES, rng.randint(0, 2)),
            veteran=rng.random() < 0.05, organ_donor=rng.random() < 0.3,
            emergency_contact=contact),
        caretaker=caretaker)



def applicants(seed: int, today: date, rulebook: Rulebook) -> Iterator[ApplicationCreate]:
    """An endless, reproducible stream; now and then someone from the recent past applies again."""
    rng = random.Random(seed)
    recent: deque[ApplicationCreate] = deque(maxlen=2000)
    while True:
        if recent and rng.random() < REPEAT_SHARE:
            yield rng.choice(recent)
            continue
        data = _applicant(rng, today, rulebook)
        recent.append(data)
        yield data


# --- the database ---------------------------------------------------------------------------


def create_database(admin: Engine, admin_url: str) -> tuple[str, str]:
    name = f"cityid_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'alembic_version'")).all()
        quoted = ", ".join(f'"{table}"' for table in tables)
        # The audit tables refuse TRUNCATE while they hold entries; a superuser may bypass it.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


def count_applications(runtime: Runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return int(session.scalar(text("SELECT count(*) FROM applications")) or 0)


# --- enrollment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolled:
    seconds: float
    cpu_seconds: float
    reference: str
    date_of_birth: date

    def rate(self, count: int) -> float:
        return count / self.seconds


def enroll(runtime: Runtime, desk: EnrollmentDesk, rows: Iterable[ApplicationCreate], count: int,
           batch: int, progress: Callable[[int], None] | None = None) -> Enrolled:
    stream = iter(rows)
    done = 0
    known: tuple[str, date] | None = None
    started, cpu_started = time.perf_counter(), time.process_time()
    while done < count:
        chunk = list(islice(stream, min(batch, count - done)))
        with unit_of_work(runtime.sessions) as session:
            for data in chunk:
                out = create_application(session, desk=desk, actor=ACTOR, data=data)
                if known is None:
                    known = (out.reference, data.date_of_birth)
        done += len(chunk)
        if progress:
            progress(done)
    assert known is not None
    return Enrolled(time.perf_counter() - started, time.process_time() - cpu_started, *known)


# --- the status check -----------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    samples: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.samples, n=20)[18] * 1000

    def cell(self) -> str:
        return f"{self.median_ms:6.2f} / {self.p95_ms:6.2f}"


def time_status_checks(runtime: Runtime, limiter: RateLimiter, policy: StatusCheckPolicy,
                       known: Enrolled, checks: int) -> dict[str, Timings]:
    desk = runtime.enrollment
    index = runtime.vault.blind_index("application-reference",
                                      normalise_reference(known.reference))
    wrong_dob = known.date_of_birth - timedelta(days=1)

    def raw_select() -> None:
        with unit_of_work(runtime.sessions) as session:
            session.scalars(select(Application).where(Application.reference_index == index)).one()

    def service(reference: str, born: date, found: bool) -> Callable[[], None]:
        def check() -> None:
            try:
                with unit_of_work(runtime.sessions) as session:
                    check_status(session, desk=desk, limiter=limiter, policy=policy,
                                 reference=reference, date_of_birth=born, lang="en",
                                 client="bench-client")
            except StatusCheckNotFound:
                if found:
                    raise
            else:
                if not found:
                    raise AssertionError("a status check with a wrong answer found a status")
        return check

    kinds: dict[str, Callable[[], None]] = {
        "select": raw_select,
        "right": service(known.reference, known.date_of_birth, True),
        "wrong": service(known.reference, wrong_dob, False),
        "unknown": service(new_reference(), known.date_of_birth, False),
    }
    for work in kinds.values():  # warm the pool, the statement cache and the pages
        for _ in range(20):
            work()
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(checks):  # interleaved, so drift hits every kind alike
        for name, work in kinds.items():
            started = time.perf_counter()
            work()
            samples[name].append(time.perf_counter() - started)
    return {name: Timings(values) for name, values in samples.items()}


# --- main -----------------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="a PostgreSQL server; the bench creates and drops its own databases")
    parser.add_argument("--applicants", type=int, default=10_000, help="applicants per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode")
    parser.add_argument("--batch", type=int, default=500, help="applicants per transaction")
    parser.add_argument("--warmup", type=int, default=300, help="applicants per mode, not timed")
    parser.add_argument("--status-at", default="10000,100000",
                        help="application counts at which the status check is timed")
    parser.add_argument("--status-checks", type=int, default=200)
    parser.add_argument("--fill-batch", type=int, default=500,
                        help="applicants per transaction when filling for the status check")
    args = parser.parse_args(argv)
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must name a PostgreSQL server")

    bench_started = time.perf_counter()
    admin = make_engine(args.database_url, isolation_level="AUTOCOMMIT")
    names: list[str] = []
    runtimes: list[Runtime] = []
    try:
        with tempfile.TemporaryDirectory(prefix="cityid-bench-") as tmp:
            for _ in ("encrypted", "plaintext"):
                name, url = create_database(admin, args.database_url)
                names.append(name)
                log(f"created database {name}; migrating")
                upgrade(url)
                runtimes.append(build_runtime(Settings(data_dir=Path(tmp), database_url=url,
                                                       keyring_path=Path(tmp) / "keyring.json")))
            run(runtimes[0], runtimes[1], args, bench_started)
    finally:
        for runtime in runtimes:
            runtime.engine.dispose()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                log(f"dropped database {name}")
        admin.dispose()


def run(encrypted: Runtime, plaintext: Runtime, args: argparse.Namespace,
        bench_started: float) -> None:
    """Both databases grow by the same rows in each run; the status check is timed on the
    encrypted one whenever it holds a count from ``--status-at``."""
    desks = {
        "encrypted": (encrypted, encrypted.enrollment),
        "plaintext": (plaintext, EnrollmentDesk(
            vault=PlaintextVault(plaintext.vault.provider, plaintext.clock),
            rulebook=plaintext.rulebook, clock=plaintext.clock,
            max_photo_bytes=plaintext.settings.max_photo_bytes)),
    }
    count = args.applicants
    stream = applicants(SEED, encrypted.clock.today(), encrypted.rulebook)
    status_at = sorted(int(n) for n in args.status_at.split(",") if n.strip())
    limiter = RateLimiter("memory://")
    unlimited = StatusCheckPolicy(per_reference=Limit("status:reference", 10**9, 60),
                                  per_client=Limit("status:client", 10**9, 60),
                                  successes_per_reference=Limit("status:ok", 10**9, 60))
    known: Enrolled | None = None
    status_lines: list[str] = []

    def time_status_if_due() -> None:
        have = count_applications(encrypted)
        if have in status_at and known is not None:
            with encrypted.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
            t = time_status_checks(encrypted, limiter, unlimited, known, args.status_checks)
            status_lines.append(
                f"{have:>12,} {t['select'].cell():>15} {t['right'].cell():>15} "
                f"{t['wrong'].cell():>15} {t['unknown'].cell():>15}  "
                f"{t['right'].median_ms / t['select'].median_ms:>11.1f}x "
                f"{t['wrong'].median_ms / t['select'].median_ms:>12.1f}x")
            log(f"timed the status check at {have:,} applications")

    warmup = list(islice(applicants(SEED - 1, encrypted.clock.today(), encrypted.rulebook),
                         args.warmup))
    for runtime, desk in desks.values():
        if warmup:
            enroll(runtime, desk, warmup, len(warmup), args.batch)
        truncate_all(runtime.engine)

    results: dict[str, list[Enrolled]] = {"plaintext": [], "encrypted": []}
    for index in range(args.runs):
        rows = list(islice(stream, count))
        # Alternate which mode goes first, so neither always follows the other's autovacuum.
        order = ("plaintext", "encrypted") if index % 2 == 0 else ("encrypted", "plaintext")
        for mode in order:
            runtime, desk = desks[mode]
            result = enroll(runtime, desk, rows, count, args.batch)
            results[mode].append(result)
            log(f"run {index + 1} {mode}: {result.rate(count):,.0f} applicants/s")
            if mode == "encrypted":
                if known is None:
                    known = result
                time_status_if_due()
    assert known is not None

    with encrypted.engine.connect() as conn:
        server = conn.scalar(text("SHOW server_version"))
    print(f"cityid enrollment bench: PostgreSQL {server}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, one client thread")
    print(f"enroll: {count:,} applicants per run via create_application, {args.batch} per "
          f"transaction; {args.runs} runs per mode, alternating; run k adds the same rows to "
          f"two databases holding (k-1) x {count:,} applications each")
    print("plaintext baseline: record ciphers that do not encrypt, dummy data-key rows; blind "
          "indexes and pseudonyms are real HMAC-SHA256 in both modes")
    print()
    print(f"{'applicants/s':<14}" + "".join(f"{'run ' + str(i + 1):>9}" for i in range(args.runs))
          + f"{'median':>9}{'client CPU s/run':>18}")
    medians: dict[str, float] = {}
    for mode, runs in results.items():
        rates = [r.rate(count) for r in runs]
        medians[mode] = statistics.median(rates)
        cpu = statistics.median(r.cpu_seconds for r in runs)
        print(f"{mode:<14}" + "".join(f"{rate:>9,.0f}" for rate in rates)
              + f"{medians[mode]:>9,.0f}{cpu:>18.1f}")
    pairs = [sealed.seconds / plain.seconds for sealed, plain
             in zip(results["encrypted"], results["plaintext"], strict=True)]
    ratio = medians["plaintext"] / medians["encrypted"]
    verdict = "within" if ratio <= 1.5 else "OVER"
    print(f"encrypted/plaintext time: {ratio:.2f}x of medians (per run "
          f"{', '.join(f'{r:.2f}' for r in pairs)}), {verdict} the 1.5x budget")

    filled: list[str] = []
    for target in status_at:
        have = count_applications(encrypted)
        if target <= have:
            if not any(line.startswith(f"{target:>12,} ") for line in status_lines):
                status_lines.append(f"{target:>12,}  not timed: the table held {have:,} first")
            continue
        fill_started = time.perf_counter()

        def progress(done: int, have: int = have, started: float = fill_started) -> None:
            if (have + done) % 10_000 == 0:
                log(f"filled to {have + done:,} applications, "
                    f"{done / (time.perf_counter() - started):,.0f}/s")

        filling = enroll(encrypted, encrypted.enrollment, stream, target - have,
                         args.fill_batch, progress)
        filled.append(f"fill {have:,} -> {target:,} (encrypted, create_application, "
                      f"{args.fill_batch} per transaction): {filling.seconds:.0f} s, "
                      f"{filling.rate(target - have):,.0f} applicants/s")
        time_status_if_due()

    print()
    print(f"status check: ms median / p95 of {args.status_checks}, each in its own transaction; "
          "baseline: SELECT of the application row by reference_index")
    print(f"{'applications':>12} {'SELECT':>15} {'right DOB':>15} {'wrong DOB':>15} "
          f"{'unknown ref':>15}  right/SELECT  wrong/SELECT")
    for line in status_lines:
        print(line)
    for line in filled:
        print(line)
    print(f"total bench time {time.perf_counter() - bench_started:.0f} s")


if __name__ == "__main__":
    main()
