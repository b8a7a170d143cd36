"""Synthetic cardholders for demos and benchmarks: ``cityid seed --cardholders N``.

Each one is what enrollment and issuing leave behind for an approved adult: a data key wrapped by
the active KEK; a resident whose personal fields are sealed under it (AES-GCM, table|column|row as
associated data) with its ``person_index``; an application in ``card_issued`` with the documents
that satisfied the rulebook, its reference sealed and blind-indexed; and an active card with a
unique Luhn number, a unique random status-list index and a Claim 169 credential signed by the
active key. Sealing, indexing and signing go through the same helpers the services use, so the
services read these rows back like any others.

What marks them as synthetic, without a column of its own: invented names (syllables, not a list
of real people), phone numbers in the 555-01xx range kept for fiction, e-mail at example.org, and
``seed`` as the clerk who created, checked and decided the application. They have no photo, and
they are not queued for printing (fulfilment ``printed``), so ``cityid cards print`` is never
handed a million synthetic cards.

Speed: signing and sealing are CPU-bound, so rows are made in worker processes while the parent
writes: COPY on PostgreSQL, executemany on SQLite, one transaction per batch with one audit entry
(``seed.batch``), so an interrupted run keeps every batch it committed. The parent draws card
numbers and status indexes, unique within the run; the database's unique constraints catch a clash
with a card issued meanwhile, and that batch is drawn again.
"""

from __future__ import annotations

import multiprocessing
import random
import secrets
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from multiprocessing.pool import AsyncResult
from typing import Any

from sqlalchemy import Dialect, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityid.clock import FixedClock
from cityid.db import Base, unit_of_work
from cityid.errors import AppError, ErrorKind
from enrollment import service as enrollment
from enrollment.models import Resident
from enrollment.reference import new_reference, normalise_reference
from enrollment.rulebook import DocumentCredit, Rulebook
from enrollment.schemas import Address, Designations, ResidentData
from enrollment.service import APPLICATIONS, RESIDENTS, EnrollmentDesk, Holder, age_on
from enrollment.states import ApplicationStatus
from idcard import repository
from idcard import service as cards
from idcard.credential import issue_credential
from idcard.errors import NoSigningKey
from idcard.models import Card
from idcard.numbers import (
    LENGTH,
    MAX_ATTEMPTS,
    CardNumberSpaceExhausted,
    is_weak,
    luhn_check_digit,
)
from idcard.service import CARDS, CardDesk
from idcard.states import CardStatus
from idcard.statuslist import MAX_SIZE, MIN_SIZE, random_free_index
from privacy import audit
from privacy.audit import Actor
from privacy.keyring import Keyring, SigningKey, VerifierKey
from privacy.normalise import normalise_person
from privacy.vault import DataKeyHandle, Vault, wrap_dek

SYNTHETIC_CLERK = "seed"
OLDEST = 89
MAX_BATCH_ATTEMPTS = 3
DEK_BYTES = 32

# Column order of the rows a batch carries, per table, in the order the tables are written.
COLUMNS: dict[str, tuple[str, ...]] = {
    "data_keys": ("owner_id", "kek_version", "wrapped_dek", "created_at"),
    "residents": ("id", "first_name_enc", "middle_name_enc", "last_name_enc",
                  "date_of_birth_enc", "address_enc", "care_of_enc", "phone_enc", "email_enc",
                  "designations_enc", "person_index", "created_at"),
    "applications": ("id", "resident_id", "reference_index", "reference_enc", "status",
                     "delivery", "caretaker_enc", "created_by", "created_at", "updated_at",
                     "decided_by", "decided_at", "decision_reason", "rulebook_override",
                     "rulebook_fingerprint"),
    "application_documents": ("id", "application_id", "category", "points", "shows_photo",
                              "shows_dob", "checked_by", "checked_at"),
    "cards": ("id", "resident_id", "application_id", "card_number_index", "card_number_enc",
              "issue_number", "status", "status_reason", "status_changed_at", "status_index",
              "kid", "issued_at", "valid_from", "expires_on", "credential_enc", "fulfilment",
              "printed_at", "replaces_id", "verifier_kid"),
}

Row = tuple[Any, ...]
Progress = Callable[[int], None]


class StatusListTooSmall(AppError):
    kind = ErrorKind.INVALID
    code = "status_list_too_small"
    title = "The status list is too small for that many cards"


class RulebookUnsatisfiable(AppError):
    kind = ErrorKind.INVALID
    code = "rulebook_unsatisfiable"
    title = "No set of the rulebook's documents approves an adult; nothing can be seeded"


# --- what a worker needs -------------------------------------------------------------------


class _HeldKeyring:
    """A key provider over a keyring already loaded: what a worker process gets from its parent."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def writable(self) -> bool:
        return False

    def load(self) -> Keyring:
        return self._keyring

    def save(self, keyring: Keyring) -> None:
        raise AppError("a seeding worker does not write the keyring")


@dataclass(frozen=True)
class _Context:
    keyring: Keyring
    signing_key: SigningKey
    sealing_key: VerifierKey | None
    rulebook: Rulebook
    issuer: str
    issuer_name: str
    documents: tuple[DocumentCredit, ...]
    decision_reason: str
    youngest: int
    # PostgreSQL is written by COPY, which takes naive UTC times; SQLite through SQLAlchemy,
    # whose UTCDateTime takes aware ones.
    postgres: bool

    def desk(self, now: datetime) -> CardDesk:
        """A desk for sealing, indexing and signing; nothing on it reads the database."""
        vault = Vault(_HeldKeyring(self.keyring), FixedClock(now))
        return CardDesk(enrollment=EnrollmentDesk(vault=vault, rulebook=self.rulebook,
                                                  clock=FixedClock(now), max_photo_bytes=0),
                        issuer=self.issuer, issuer_name=self.issuer_name,
                        status_list_ttl=timedelta(hours=1))


@dataclass(frozen=True)
class _BatchSpec:
    now: datetime
    status_indexes: tuple[int, ...]
    card_numbers: tuple[str, ...]


@dataclass
class _Rows:
    """One batch of synthetic cardholders, as rows per table in ``COLUMNS`` order."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in COLUMNS})

    @property
    def count(self) -> int:
        return len(self.tables["cards"])


# --- inventing people ----------------------------------------------------------------------

SYLLABLES = ("ba", "dor", "el", "fa", "gor", "ha", "il", "ja", "ka", "lor", "ma", "nel", "ol",
             "pa", "qui", "ra", "sa", "tor", "ul", "va", "wen", "xa", "yor", "za", "bri", "cel",
             "dru", "fen", "lin", "mo", "ne", "ti")
STREETS = ("Street", "Avenue", "Place", "Road", "Boulevard", "Lane")
CITIES = ("Bronx", "Brooklyn", "New York", "Queens", "Staten Island")
LANGUAGES = ("en", "es", "zh", "ru", "bn", "ht", "ko", "ar", "fr", "pl")
GENDERS = ("F", "M", "X", None)


def _invented_name(rng: random.Random, low: int, high: int) -> str:
    # One draw for the whole name: 32 syllables, five bits each.
    bits = rng.getrandbits(5 * high + 2)
    count = low + (bits >> 5 * high) % (high - low + 1)
    return "".join(SYLLABLES[(bits >> 5 * i) & 31] for i in range(count)).capitalize()


@dataclass(frozen=True)
class _Person:
    data: ResidentData
    phone: str | None
    email: str | None
    designations: Designations


def _invent_person(rng: random.Random, today: date, youngest: int) -> _Person:
    born = today - timedelta(days=rng.randint((youngest + 1) * 366, OLDEST * 365))
    first, last = _invented_name(rng, 2, 3), _invented_name(rng, 2, 4)
    address = None
    if rng.random() < 0.97:  # the rest pick their card up in person
        address = Address(line1=f"{rng.randint(1, 2999)} {_invented_name(rng, 2, 2)} "
                                f"{rng.choice(STREETS)}",
                          line2=f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}"
                          if rng.random() < 0.3 else None,
                          city=rng.choice(CITIES), state="NY",
                          postal_code=str(rng.randint(10001, 11697)))
    return _Person(
        data=ResidentData(first_name=first, middle_name=_invented_name(rng, 1, 2)
                          if rng.random() < 0.2 else None,
                          last_name=last, date_of_birth=born, address=address),
        phone=f"+1 212 555 01{rng.randint(0, 99):02}" if rng.random() < 0.6 else None,
        email=f"{first.lower()}.{last.lower()}@example.org" if rng.random() < 0.4 else None,
        designations=Designations(gender=rng.choice(GENDERS),
                                  languages=rng.sample(LANGUAGES, rng.choice((0, 1, 1, 2))),
                                  veteran=rng.random() < 0.04, organ_donor=rng.random() < 0.25))


# --- making a batch (in a worker process, or inline) ---------------------------------------


def _cardholder(context: _Context, desk: CardDesk, rows: _Rows, person: _Person, *,
                resident: Resident, now: datetime, stamp: datetime, status_index: int,
                card_number: str) -> None:
    """The rows ``create_application``, approval and ``issue_for_application`` would write."""
    today, vault, keyring = now.date(), desk.vault, context.keyring
    resident_id, application_id, card_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    data = person.data

    # Vault.create_data_key, without the session: the parent writes the row.
    dek = secrets.token_bytes(DEK_BYTES)
    rows.tables["data_keys"].append(
        (resident_id, keyring.active_kek,
         wrap_dek(keyring, resident_id, dek, keyring.active_kek), stamp))
    key = DataKeyHandle(resident_id, dek)

    sealed = key.record(RESIDENTS, resident_id)
    enrollment.seal_resident(sealed, resident, data)
    rows.tables["residents"].append((
        resident_id, resident.first_name_enc, resident.middle_name_enc, resident.last_name_enc,
        resident.date_of_birth_enc, resident.address_enc, sealed.seal_json("care_of", None),
        sealed.seal_text("phone", person.phone), sealed.seal_text("email", person.email),
        sealed.seal_json("designations", person.designations.model_dump()),
        vault.blind_index("person", normalise_person(data.first_name, data.last_name,
                                                     data.date_of_birth)),
        stamp))

    reference = new_reference()
    rows.tables["applications"].append((
        application_id, resident_id,
        enrollment.reference_index(desk.enrollment, normalise_reference(reference)),
        key.record(APPLICATIONS, application_id).seal("reference", reference.encode()),
        ApplicationStatus.CARD_ISSUED, "mail" if data.address else "pickup", None,
        SYNTHETIC_CLERK, stamp, stamp, SYNTHETIC_CLERK, stamp, context.decision_reason, False,
        context.rulebook.fingerprint))
    for credit in context.documents:
        rows.tables["application_documents"].append((
            uuid.uuid4(), application_id, credit.category.value, credit.points,
            credit.shows_photo, credit.shows_dob, SYNTHETIC_CLERK, stamp))

    holder = Holder(resident_id=resident_id, first_name=data.first_name,
                    middle_name=data.middle_name, last_name=data.last_name,
                    date_of_birth=data.date_of_birth, address=data.address, care_of=None,
                    designations=person.designations)
    years = context.rulebook.card_validity_years(age_on(data.date_of_birth, today))
    expires_on = cards.add_years(today, years)
    credential = issue_credential(
        cards.card_claims(holder, card_number, 1), key=context.signing_key, issuer=context.issuer,
        issued_at=now, not_before=datetime.combine(today, time(0), tzinfo=UTC),
        expires_at=cards.end_of_day(expires_on), status_index=status_index,
        seal_with=context.sealing_key)
    sealed_card = key.record(CARDS, card_id)
    rows.tables["cards"].append((
        card_id, resident_id, application_id, cards.number_index(desk, card_number),
        sealed_card.seal("card_number", card_number.encode()), 1, CardStatus.ACTIVE, None, None,
        status_index, context.signing_key.kid, stamp, today, expires_on,
        sealed_card.seal("credential", credential.encode()), "printed", stamp, None,
        context.sealing_key.kid if context.sealing_key is not None else None))


def _make_batch(context: _Context, spec: _BatchSpec) -> _Rows:
    # Names and addresses of invented people: nothing here is secret. Keys, nonces, references,
    # card numbers and status indexes all come from `secrets`.
    rng = random.Random(secrets.randbits(64))  # noqa: S311
    desk = context.desk(spec.now)
    stamp = spec.now.replace(tzinfo=None) if context.postgres else spec.now
    rows = _Rows()
    # Never added to a session: it only collects what `seal_resident` seals, row after row.
    resident = Resident()
    for status_index, card_number in zip(spec.status_indexes, spec.card_numbers, strict=True):
        person = _invent_person(rng, spec.now.date(), context.youngest)
        _cardholder(context, desk, rows, person, resident=resident, now=spec.now, stamp=stamp,
                    status_index=status_index, card_number=card_number)
    return rows


_worker_context: _Context | None = None


def _start_worker(context: _Context) -> None:
    global _worker_context
    _worker_context = context


def _make_batch_in_worker(spec: _BatchSpec) -> _Rows:
    assert _worker_context is not None
    return _make_batch(_worker_context, spec)


# --- writing -------------------------------------------------------------------------------


# PostgreSQL's names for the binary COPY format, by how SQLAlchemy spells the column types.
_PG_TYPE_NAMES = {"timestamp without time zone": "timestamp", "integer": "int4",
                  "bigint": "int8", "boolean": "bool"}


@cache
def _pg_types(table: str, dialect: Dialect) -> tuple[str, ...]:
    columns = Base.metadata.tables[table].c
    names = (columns[name].type.compile(dialect=dialect).lower().split("(")[0]
             for name in COLUMNS[table])
    return tuple(_PG_TYPE_NAMES.get(name, name) for name in names)


def _copy_rows(session: Session, rows: _Rows) -> None:
    import psycopg
    from psycopg import sql

    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        for table, data in rows.tables.items():
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table])))
            try:
                with cursor.copy(statement) as copy:
                    copy.set_types(list(_pg_types(table, session.get_bind().dialect)))
                    for row in data:
                        copy.write_row(row)
            except psycopg.errors.IntegrityError as exc:
                # COPY runs beneath SQLAlchemy; report a clash the way an INSERT would.
                raise IntegrityError(f"COPY {table}", None, exc) from exc


def _insert_rows(session: Session, rows: _Rows) -> None:
    for table, data in rows.tables.items():
        if data:
            columns = COLUMNS[table]
            session.execute(insert(Base.metadata.tables[table]),
                            [dict(zip(columns, row, strict=True)) for row in data])


# --- drawing numbers -----------------------------------------------------------------------


def draw_card_number() -> str:
    """What ``numbers.generate_card_number`` draws (a first digit 1-9, 14 uniform digits, the
    Luhn digit; weak numbers drawn again), from one CSPRNG call instead of fifteen."""
    low = 10 ** (LENGTH - 2)
    for _ in range(MAX_ATTEMPTS):
        payload = str(low + secrets.randbelow(9 * low))
        number = payload + luhn_check_digit(payload)
        if not is_weak(number):
            return number
    raise CardNumberSpaceExhausted()


class _Numbers:
    """Card numbers and status indexes handed out in this run, and status indexes held before."""

    def __init__(self, held_indexes: set[int], size: int) -> None:
        self.indexes = held_indexes
        self.numbers: set[str] = set()
        self.size = size

    def status_index(self) -> int:
        index = random_free_index(self.indexes.__contains__, size=self.size)
        self.indexes.add(index)
        return index

    def card_number(self) -> str:
        for _ in range(MAX_ATTEMPTS):
            number = draw_card_number()
            if number not in self.numbers:
                self.numbers.add(number)
                return number
        raise CardNumberSpaceExhausted()

    def batch(self, now: datetime, count: int) -> _BatchSpec:
        return _BatchSpec(now=now, status_indexes=tuple(self.status_index() for _ in range(count)),
                          card_numbers=tuple(self.card_number() for _ in range(count)))


# --- the plan and the run ------------------------------------------------------------------


def _approving_documents(rulebook: Rulebook, today: date, age: int) -> tuple[DocumentCredit, ...]:
    """The fewest documents, best first, that satisfy the rulebook for an adult of ``age``: what
    a clerk would have recorded before approving."""
    credits: list[DocumentCredit] = []
    for kind in rulebook.document_kinds():
        try:
            credits.append(rulebook.evaluate_document(
                kind.kind, expires_on=today + timedelta(days=3 * 365)
                if kind.needs_expiry_date else None,
                issued_on=today - timedelta(days=7) if kind.needs_issue_date else None,
                shows_photo=kind.photo != "never", shows_dob=kind.date_of_birth != "never",
                today=today))
        except AppError:
            continue
    credits.sort(key=lambda c: (-c.points, not c.shows_photo, not c.shows_dob))
    chosen: list[DocumentCredit] = []
    for category in rulebook.spec.requirements.category_points:
        best = next((c for c in credits if c.category == category), None)
        if best is not None:
            chosen.append(best)
    for credit in credits:
        if rulebook.tally(chosen, age=age, has_caretaker=False).satisfied:
            return tuple(chosen)
        if credit not in chosen:
            chosen.append(credit)
    if rulebook.tally(chosen, age=age, has_caretaker=False).satisfied:
        return tuple(chosen)
    raise RulebookUnsatisfiable()


def _youngest_without_caretaker(rulebook: Rulebook) -> int:
    age = rulebook.minimum_age
    while rulebook.needs_caretaker(age):
        age += 1
    return age


def _suggested_size(cards_in_all: int) -> int:
    size = MIN_SIZE
    while size < 2 * cards_in_all and size < MAX_SIZE:
        size *= 2
    return size


@dataclass(frozen=True)
class SeedPlan:
    count: int
    held_indexes: frozenset[int]
    context: _Context

    @property
    def cards_before(self) -> int:
        return len(self.held_indexes)


def plan(sessions: sessionmaker[Session], *, desk: CardDesk, count: int) -> SeedPlan:
    """Everything checked before a row is written; refuses if the status list would be more than
    half full, since random indexes are then slow to find and a card hides among fewer."""
    with unit_of_work(sessions) as session:
        held = frozenset(session.scalars(select(Card.status_index)))
        backend = session.get_bind().dialect.name
    size = desk.status_list_size
    if len(held) + count > size // 2:
        raise StatusListTooSmall(
            f"{len(held) + count} cards would fill more than half of the status list "
            f"({size} entries); raise CITYID_STATUS_LIST_SIZE to at least "
            f"{_suggested_size(len(held) + count)} (for example 2097152 for 1,000,000 cards) "
            "and seed again")
    signing_key = desk.vault.active_signing_key()
    if signing_key is None:
        raise NoSigningKey()
    rulebook = desk.enrollment.rulebook
    today = desk.clock.today()
    youngest = _youngest_without_caretaker(rulebook)
    approve = sorted(enrollment.reason_codes()["approve"])
    context = _Context(
        keyring=desk.vault.keyring, signing_key=signing_key,
        sealing_key=cards.sealing_key(desk), rulebook=rulebook,
        issuer=desk.issuer, issuer_name=desk.issuer_name,
        documents=_approving_documents(rulebook, today, max(youngest, 30)),
        decision_reason="rulebook_satisfied" if "rulebook_satisfied" in approve else approve[0],
        youngest=youngest, postgres=backend == "postgresql")
    return SeedPlan(count=count, held_indexes=held, context=context)


def _batch_sizes(count: int, batch: int) -> Iterator[int]:
    whole, rest = divmod(count, batch)
    yield from [batch] * whole
    if rest:
        yield rest


@dataclass
class _Writer:
    sessions: sessionmaker[Session]
    desk: CardDesk
    actor: Actor
    context: _Context
    numbers: _Numbers

    def commit(self, spec: _BatchSpec, rows: _Rows) -> int:
        """Write one batch in its own transaction. A clash with a card issued meanwhile (the
        unique constraints refuse it) redraws the clashing numbers and makes the batch again."""
        for attempt in range(MAX_BATCH_ATTEMPTS):
            try:
                with unit_of_work(self.sessions) as session:
                    if self.context.postgres:
                        _copy_rows(session, rows)
                    else:
                        _insert_rows(session, rows)
                    audit.record(session, actor=self.actor, action="seed.batch",
                                 clock=self.desk.clock, detail={"count": rows.count})
                return rows.count
            except IntegrityError:
                redrawn = self._redraw_clashes(spec, rows)
                if redrawn is None or attempt == MAX_BATCH_ATTEMPTS - 1:
                    raise
                spec = redrawn
                rows = _make_batch(self.context, spec)
        raise AssertionError("unreachable")

    def _redraw_clashes(self, spec: _BatchSpec, rows: _Rows) -> _BatchSpec | None:
        positions = COLUMNS["cards"]
        at_index, at_number = positions.index("status_index"), \
            positions.index("card_number_index")
        indexes, numbers = list(spec.status_indexes), list(spec.card_numbers)
        clashed = False
        with unit_of_work(self.sessions) as session:
            for i, card in enumerate(rows.tables["cards"]):
                if repository.status_index_taken(session, card[at_index]):
                    indexes[i] = self.numbers.status_index()
                    clashed = True
                if repository.number_taken(session, card[at_number]):
                    numbers[i] = self.numbers.card_number()
                    clashed = True
        if not clashed:
            return None
        return replace(spec, status_indexes=tuple(indexes), card_numbers=tuple(numbers))


def seed(sessions: sessionmaker[Session], seed_plan: SeedPlan, *, desk: CardDesk, actor: Actor,
         batch: int, workers: int, on_progress: Progress | None = None) -> int:
    """Write the plan's cardholders, ``batch`` per transaction, made by ``workers`` processes.
    Returns how many were written; ``on_progress`` hears of each committed batch."""
    numbers = _Numbers(set(seed_plan.held_indexes), desk.status_list_size)
    writer = _Writer(sessions, desk, actor, seed_plan.context, numbers)
    sizes: Sequence[int] = list(_batch_sizes(seed_plan.count, batch))
    done = 0

    def committed(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(count)

    if workers <= 1 or len(sizes) <= 1:
        for size in sizes:
            spec = numbers.batch(desk.clock.now(), size)
            committed(writer.commit(spec, _make_batch(seed_plan.context, spec)))
    else:
        # spawn, not fork: the parent holds database connections a forked child must not share.
        pool = multiprocessing.get_context("spawn").Pool(
            processes=workers, initializer=_start_worker, initargs=(seed_plan.context,))
        try:
            waiting: deque[tuple[_BatchSpec, AsyncResult[_Rows]]] = deque()
            pending = iter(sizes)
            # Keep every worker busy while the parent writes, and no more in memory than that.
            for size in pending:
                spec = numbers.batch(desk.clock.now(), size)
                waiting.append((spec, pool.apply_async(_make_batch_in_worker, (spec,))))
                if len(waiting) >= 2 * workers:
                    break
            while waiting:
                spec, result = waiting.popleft()
                rows = result.get()
                following = next(pending, None)
                if following is not None:
                    ahead = numbers.batch(desk.clock.now(), following)
                    waiting.append((ahead, pool.apply_async(_make_batch_in_worker, (ahead,))))
                committed(writer.commit(spec, rows))
            pool.close()
        finally:
            pool.terminate()
            pool.join()

    # The published list must cover every index handed out, even if the list size was raised
    # for this run; no card changed status, so only its size and signature can differ.
    with unit_of_work(sessions) as session:
        cards.rebuild_status_list(session, desk=desk)
    # A bulk load leaves the planner's statistics far behind the data. Refresh them now, rather
    # than leave it to autovacuum under the first real traffic.
    with unit_of_work(sessions) as session:
        repository.refresh_statistics(session, COLUMNS)
    return done
