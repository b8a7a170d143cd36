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
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from multiprocessing.pool import AsyncResult

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityid.db import unit_of_work
from cityid.errors import AppError, ErrorKind
from enrollment import service as enrollment
from enrollment.rulebook import DocumentCredit, Rulebook
from idcard import repository
from idcard import service as cards
from idcard.errors import NoSigningKey
from idcard.models import Card
from idcard.numbers import (
    LENGTH,
    MAX_ATTEMPTS,
    CardNumberSpaceExhausted,
    is_weak,
    luhn_check_digit,
)
from idcard.seed_rows import (
    COLUMNS,
    BatchSpec,
    Rows,
    SeedContext,
    copy_rows,
    insert_rows,
    make_batch,
    make_batch_in_worker,
    start_worker,
)
from idcard.service import CardDesk
from idcard.statuslist import MAX_SIZE, MIN_SIZE, random_free_index
from privacy import audit
from privacy.audit import Actor
from privacy.errors import KeyringError

MAX_BATCH_ATTEMPTS = 3
Progress = Callable[[int], None]


class StatusListTooSmall(AppError):
    kind = ErrorKind.INVALID
    code = "status_list_too_small"
    title = "The status list is too small for that many cards"


class RulebookUnsatisfiable(AppError):
    kind = ErrorKind.INVALID
    code = "rulebook_unsatisfiable"
    title = "No set of the rulebook's documents approves an adult; nothing can be seeded"


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

    def batch(self, now: datetime, count: int) -> BatchSpec:
        return BatchSpec(now=now, status_indexes=tuple(self.status_index() for _ in range(count)),
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
    context: SeedContext

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
    if desk.vault.provider.holds_keys:
        # Seeding workers are handed the keyring; keys in a token can't be handed over.
        raise KeyringError("demo cardholders are seeded with a file keyring; the keys of this "
                           "installation are in a PKCS#11 token")
    signing_key = desk.vault.active_signing_key()
    if signing_key is None:
        raise NoSigningKey()
    rulebook = desk.enrollment.rulebook
    today = desk.clock.today()
    youngest = _youngest_without_caretaker(rulebook)
    approve = sorted(enrollment.reason_codes()["approve"])
    context = SeedContext(
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
    context: SeedContext
    numbers: _Numbers

    def commit(self, spec: BatchSpec, rows: Rows) -> int:
        """Write one batch in its own transaction. A clash with a card issued meanwhile (the
        unique constraints refuse it) redraws the clashing numbers and makes the batch again."""
        for attempt in range(MAX_BATCH_ATTEMPTS):
            try:
                with unit_of_work(self.sessions) as session:
                    if self.context.postgres:
                        copy_rows(session, rows)
                    else:
                        insert_rows(session, rows)
                    audit.record(session, actor=self.actor, action="seed.batch",
                                 clock=self.desk.clock, detail={"count": rows.count})
                return rows.count
            except IntegrityError:
                redrawn = self._redraw_clashes(spec, rows)
                if redrawn is None or attempt == MAX_BATCH_ATTEMPTS - 1:
                    raise
                spec = redrawn
                rows = make_batch(self.context, spec)
        raise AssertionError("unreachable")

    def _redraw_clashes(self, spec: BatchSpec, rows: Rows) -> BatchSpec | None:
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
            committed(writer.commit(spec, make_batch(seed_plan.context, spec)))
    else:
        # spawn, not fork: the parent holds database connections a forked child must not share.
        pool = multiprocessing.get_context("spawn").Pool(
            processes=workers, initializer=start_worker, initargs=(seed_plan.context,))
        try:
            waiting: deque[tuple[BatchSpec, AsyncResult[Rows]]] = deque()
            pending = iter(sizes)
            # Keep every worker busy while the parent writes, and no more in memory than that.
            for size in pending:
                spec = numbers.batch(desk.clock.now(), size)
                waiting.append((spec, pool.apply_async(make_batch_in_worker, (spec,))))
                if len(waiting) >= 2 * workers:
                    break
            while waiting:
                spec, result = waiting.popleft()
                rows = result.get()
                following = next(pending, None)
                if following is not None:
                    ahead = numbers.batch(desk.clock.now(), following)
                    waiting.append((ahead, pool.apply_async(make_batch_in_worker, (ahead,))))
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
