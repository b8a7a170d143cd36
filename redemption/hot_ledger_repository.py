"""The SQL of a redemption on the hot path, on PostgreSQL, through async psycopg in pipeline mode.

The normal route (``redemption.ledger.redeem``) makes about 14 round trips through the ORM. Here
the same work is four statements in three network waits, each wait a pipeline of statements
whose parameters are all known before it is sent:

1. ``reads`` (autocommit), one statement: the Idempotency-Key's earlier redemption, the benefit,
   the card;
2. ``transact``, in one transaction: ``BEGIN``, take the (benefit, holder) row, then one
   statement for the key's redemption again (a retry may have committed while we waited), the
   holder's redemptions that count in the period and the period's highest slot -- sent together;
3. after the caller's decision in process: the ledger row and its audit entry in one
   statement, and ``COMMIT``, sent together.

Fewer statements matter as much as fewer waits: each costs the driver about as much CPU as
the wait costs time (``bench/verify_cost.py --route redeem --profile``).

The rules (periods, limits, the receipt, the audit MAC) stay in Python and are the normal
route's own (``redemption.limits``, ``redemption.benefits``, ``privacy.audit_prepared``): the
index and MAC keys never reach the database, so a PL/pgSQL function would have had to repeat
the period rules in SQL and still return to the process for the MAC."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Json

from privacy.audit_prepared import PreparedEntry
from redemption.hot_repository import HotDatabase, aware, json_text, naive

# Before the transaction: the key's earlier redemption, the benefit and the card, one row.
READS_SQL = (
    "SELECT e.id, e.benefit_id, e.resident_id, e.request_hash, e.receipt_number, "
    "e.redeemed_at, e.voided_at, "
    "b.id, b.partner_id, b.name, b.category, b.limit_count, b.limit_period, b.limit_days, "
    "b.membership_days, b.active_from, b.active_until, "
    "c.id, c.resident_id, c.status, c.expires_on "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN redemptions e ON e.partner_id = %(partner)s AND e.idempotency_key = %(key)s "
    "LEFT JOIN benefits b ON b.id = %(benefit)s "
    "LEFT JOIN cards c ON c.card_number_index = %(index)s AND c.issue_number = %(issue)s")
# The (benefit, holder) row, made if need be and locked either way: an upsert that updates
# locks the row as SELECT ... FOR UPDATE would, in one statement instead of two.
LOCK_SQL = ("INSERT INTO benefit_holds (benefit_id, resident_id) VALUES (%s, %s) "
            "ON CONFLICT (benefit_id, resident_id) DO UPDATE SET resident_id = "
            "EXCLUDED.resident_id")
# Under the lock, in a statement of its own (so its snapshot is taken after the lock is held):
# the key's redemption again, the rows that count (in the named period, or since the rolling
# window's start), the period's highest slot.
LOCKED_IN_PERIOD_SQL = (
    "SELECT e.id, e.benefit_id, e.resident_id, e.request_hash, e.receipt_number, "
    "e.redeemed_at, e.voided_at, "
    "ARRAY(SELECT r.redeemed_at FROM redemptions r WHERE r.benefit_id = %(benefit)s "
    "AND r.resident_id = %(resident)s AND r.voided_at IS NULL AND r.period_key = %(period)s "
    "ORDER BY r.redeemed_at), "
    "(SELECT max(s.slot) FROM redemptions s WHERE s.benefit_id = %(benefit)s "
    "AND s.resident_id = %(resident)s AND s.period_key = %(period)s) "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN redemptions e ON e.partner_id = %(partner)s AND e.idempotency_key = %(key)s")
LOCKED_SINCE_SQL = (
    "SELECT e.id, e.benefit_id, e.resident_id, e.request_hash, e.receipt_number, "
    "e.redeemed_at, e.voided_at, "
    "ARRAY(SELECT r.redeemed_at FROM redemptions r WHERE r.benefit_id = %(benefit)s "
    "AND r.resident_id = %(resident)s AND r.voided_at IS NULL AND r.redeemed_at > %(since)s "
    "ORDER BY r.redeemed_at), "
    "(SELECT max(s.slot) FROM redemptions s WHERE s.benefit_id = %(benefit)s "
    "AND s.resident_id = %(resident)s AND s.period_key = %(period)s) "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN redemptions e ON e.partner_id = %(partner)s AND e.idempotency_key = %(key)s")
# The ledger row and its audit entry in one statement: both or neither.
INSERT_SQL = ("WITH made AS (INSERT INTO redemptions (id, benefit_id, partner_id, resident_id, "
              "card_id, period_key, slot, idempotency_key, request_hash, receipt_number, "
              "redeemed_at, voided_at, void_reason) "
              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL)) "
              "INSERT INTO audit_pending (at, actor, role, action, subject, purpose, detail, mac) "
              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


def _when(value: datetime) -> datetime:
    when = aware(value)
    assert when is not None
    return when


@dataclass(frozen=True)
class EarlierRow:
    """A redemption already made with this Idempotency-Key."""

    id: uuid.UUID
    benefit_id: uuid.UUID
    resident_id: uuid.UUID
    request_hash: str
    receipt_number: str
    redeemed_at: datetime
    voided_at: datetime | None


@dataclass(frozen=True)
class BenefitRow:
    id: uuid.UUID
    partner_id: uuid.UUID
    name: str
    category: str
    limit_count: int
    limit_period: str
    limit_days: int | None
    membership_days: int | None
    active_from: date
    active_until: date


@dataclass(frozen=True)
class LedgerCard:
    id: uuid.UUID
    resident_id: uuid.UUID
    status: str
    expires_on: date


@dataclass(frozen=True)
class Reads:
    earlier: EarlierRow | None
    benefit: BenefitRow | None
    card: LedgerCard | None


@dataclass(frozen=True)
class Locked:
    """What the transaction read once it held the holder's row."""

    earlier: EarlierRow | None
    counted: list[datetime]  # redeemed_at of the redemptions that count in the period
    max_slot: int


@dataclass(frozen=True)
class NewRedemption:
    id: uuid.UUID
    benefit_id: uuid.UUID
    partner_id: uuid.UUID
    resident_id: uuid.UUID
    card_id: uuid.UUID
    period_key: str
    slot: int
    idempotency_key: str
    request_hash: str
    receipt_number: str
    redeemed_at: datetime


@dataclass(frozen=True)
class PeriodQuery:
    """Which of the holder's redemptions count: a period key, or a rolling window's start."""

    key: str
    since: datetime | None


def _earlier(row: Any) -> EarlierRow | None:
    if row[0] is None:
        return None
    redeemed_at = aware(row[5])
    assert redeemed_at is not None
    return EarlierRow(row[0], row[1], row[2], row[3], row[4], redeemed_at, aware(row[6]))


async def reads(db: HotDatabase, *, partner_id: uuid.UUID, idempotency_key: str,
                benefit_id: uuid.UUID, number_index: str | None,
                issue_number: int | None) -> Reads:
    """The three reads before the transaction, in one statement."""
    params = {"partner": partner_id, "key": idempotency_key, "benefit": benefit_id,
              "index": number_index, "issue": issue_number}

    async def work(conn: psycopg.AsyncConnection[Any]) -> Reads:
        cur = await conn.execute(READS_SQL, params)
        row = await cur.fetchone()
        assert row is not None  # the left joins always give one row
        return Reads(_earlier(row[0:7]),
                     BenefitRow(*row[7:17]) if row[7] is not None else None,
                     LedgerCard(*row[17:21]) if row[17] is not None else None)
    return await db.run(work)


class _Conflict(Exception):
    """A unique index refused the ledger row; the transaction was rolled back."""


async def transact(db: HotDatabase, *, partner_id: uuid.UUID, idempotency_key: str,
                   benefit_id: uuid.UUID, resident_id: uuid.UUID, period: PeriodQuery,
                   decide: Callable[[Locked], tuple[NewRedemption, PreparedEntry] | None],
                   ) -> tuple[Locked | None, bool]:
    """Lock the holder's row, read what the decision needs, and -- if ``decide`` returns a row
    and its audit entry -- insert both and commit, in two network waits. Returns what was read
    and whether the row was committed; ``(None, False)`` when a unique index refused the row
    (only a same-key request with another body gets there). Nothing is written unless both
    rows are. A broken connection reruns the whole transaction once
    (``HotDatabase.run``): the key's redemption is read again under the lock, so a commit that
    went through before the break is found, not repeated."""
    params = {"partner": partner_id, "key": idempotency_key, "benefit": benefit_id,
              "resident": resident_id, "period": period.key,
              "since": naive(period.since) if period.since is not None else None}
    locked_sql = LOCKED_SINCE_SQL if period.since is not None else LOCKED_IN_PERIOD_SQL

    async def work(conn: psycopg.AsyncConnection[Any]) -> tuple[Locked | None, bool]:
        try:
            async with conn.pipeline(), conn.transaction():
                await conn.execute(LOCK_SQL, (benefit_id, resident_id))
                cur = await conn.execute(locked_sql, params)
                row = await cur.fetchone()  # BEGIN, the lock and the reads: one network wait
                assert row is not None
                locked = Locked(_earlier(row[0:7]), [_when(at) for at in row[7] or []],
                                int(row[8] or 0))
                decided = decide(locked)
                if decided is None:
                    # Declined: COMMIT, not ROLLBACK, which would make psycopg drop every
                    # prepared statement of the connection. Nothing was written: a holder with
                    # rows to count or a key to replay already had its lock row.
                    return locked, False
                made, entry = decided
                await conn.execute(INSERT_SQL, (
                    made.id, made.benefit_id, made.partner_id, made.resident_id, made.card_id,
                    made.period_key, made.slot, made.idempotency_key, made.request_hash,
                    made.receipt_number, naive(made.redeemed_at),
                    naive(entry.at), entry.actor, entry.role, entry.action, entry.subject,
                    entry.purpose, Json(entry.detail, dumps=json_text), entry.mac))
                # Leaving the blocks sends the INSERT and COMMIT: the second network wait.
        except psycopg.errors.UniqueViolation:
            raise _Conflict() from None
        return locked, True

    try:
        return await db.run(work)
    except _Conflict:
        return None, False
