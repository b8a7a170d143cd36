"""The SQL of a redemption on the hot path, on PostgreSQL, through async psycopg in pipeline mode.

The normal route (``redemption.ledger.redeem``) makes about 14 round trips through the ORM. Here
the same statements are sent in three network waits, each a pipeline of statements whose
parameters are all known before it is sent:

1. ``reads`` (autocommit): the Idempotency-Key's earlier redemption, the benefit, the card;
2. ``transact``, in one transaction: take the (benefit, holder) row for update, the key's
   redemption again (a retry may have committed while we waited), the holder's redemptions that
   count in the period, the period's highest slot -- then, after the caller's decision in
   process, the ledger row, its audit entry and ``COMMIT``, sent together.

The rules (periods, limits, the receipt, the audit MAC) stay in Python and are the normal
route's own (``redemption.limits``, ``redemption.benefits``, ``privacy.audit_prepared``): the
index and MAC keys never reach the database, so a PL/pgSQL function would have had to repeat
the period rules in SQL and still return to the process for the MAC."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Json

from privacy.audit_prepared import PreparedEntry
from redemption.hot_repository import AUDIT_SQL, HotDatabase, json_text

REPLAY_SQL = ("SELECT id, benefit_id, resident_id, request_hash, receipt_number, redeemed_at, "
              "voided_at FROM redemptions WHERE partner_id = %s AND idempotency_key = %s")
BENEFIT_SQL = ("SELECT id, partner_id, name, category, limit_count, limit_period, limit_days, "
               "membership_days, active_from, active_until FROM benefits WHERE id = %s")
CARD_SQL = ("SELECT id, resident_id, status, expires_on FROM cards "
            "WHERE card_number_index = %s AND issue_number = %s")
HOLD_SQL = ("INSERT INTO benefit_holds (benefit_id, resident_id) VALUES (%s, %s) "
            "ON CONFLICT (benefit_id, resident_id) DO NOTHING")
LOCK_SQL = ("SELECT benefit_id FROM benefit_holds WHERE benefit_id = %s AND resident_id = %s "
            "FOR UPDATE")
LIVE_IN_PERIOD_SQL = ("SELECT redeemed_at FROM redemptions WHERE benefit_id = %s "
                      "AND resident_id = %s AND voided_at IS NULL AND period_key = %s "
                      "ORDER BY redeemed_at")
LIVE_SINCE_SQL = ("SELECT redeemed_at FROM redemptions WHERE benefit_id = %s "
                  "AND resident_id = %s AND voided_at IS NULL AND redeemed_at > %s "
                  "ORDER BY redeemed_at")
SLOT_SQL = ("SELECT max(slot) FROM redemptions WHERE benefit_id = %s AND resident_id = %s "
            "AND period_key = %s")
INSERT_SQL = ("INSERT INTO redemptions (id, benefit_id, partner_id, resident_id, card_id, "
              "period_key, slot, idempotency_key, request_hash, receipt_number, redeemed_at, "
              "voided_at, void_reason) "
              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL)")


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _when(value: datetime) -> datetime:
    aware = _aware(value)
    assert aware is not None
    return aware


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


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
    if row is None:
        return None
    redeemed_at = _aware(row[5])
    assert redeemed_at is not None
    return EarlierRow(row[0], row[1], row[2], row[3], row[4], redeemed_at, _aware(row[6]))


async def reads(db: HotDatabase, *, partner_id: uuid.UUID, idempotency_key: str,
                benefit_id: uuid.UUID, number_index: str | None,
                issue_number: int | None) -> Reads:
    """The three reads before the transaction, in one network wait."""
    async def work(conn: psycopg.AsyncConnection[Any]) -> Reads:
        async with conn.pipeline():
            earlier = await conn.execute(REPLAY_SQL, (partner_id, idempotency_key))
            benefit = await conn.execute(BENEFIT_SQL, (benefit_id,))
            card = (await conn.execute(CARD_SQL, (number_index, issue_number))
                    if number_index is not None else None)
        b = await benefit.fetchone()
        c = await card.fetchone() if card is not None else None
        return Reads(
            _earlier(await earlier.fetchone()),
            BenefitRow(*b) if b is not None else None,
            LedgerCard(c[0], c[1], c[2], c[3]) if c is not None else None)
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
    live_sql, live_params = (
        (LIVE_SINCE_SQL, (benefit_id, resident_id, _naive(period.since)))
        if period.since is not None
        else (LIVE_IN_PERIOD_SQL, (benefit_id, resident_id, period.key)))

    async def work(conn: psycopg.AsyncConnection[Any]) -> tuple[Locked | None, bool]:
        try:
            async with conn.pipeline(), conn.transaction():
                await conn.execute(HOLD_SQL, (benefit_id, resident_id))
                await conn.execute(LOCK_SQL, (benefit_id, resident_id))
                earlier = await conn.execute(REPLAY_SQL, (partner_id, idempotency_key))
                live = await conn.execute(live_sql, live_params)
                slot = await conn.execute(SLOT_SQL, (benefit_id, resident_id, period.key))
                top = await slot.fetchone()  # the first network wait
                locked = Locked(_earlier(await earlier.fetchone()),
                                [_when(r[0]) for r in await live.fetchall()],
                                int(top[0] or 0) if top is not None else 0)
                decided = decide(locked)
                if decided is None:
                    raise psycopg.Rollback()
                row, entry = decided
                await conn.execute(INSERT_SQL, (
                    row.id, row.benefit_id, row.partner_id, row.resident_id, row.card_id,
                    row.period_key, row.slot, row.idempotency_key, row.request_hash,
                    row.receipt_number, _naive(row.redeemed_at)))
                await conn.execute(AUDIT_SQL, (
                    _naive(entry.at), entry.actor, entry.role, entry.action, entry.subject,
                    entry.purpose, Json(entry.detail, dumps=json_text), entry.mac))
                # Leaving the blocks sends both INSERTs and COMMIT: the second network wait.
        except psycopg.errors.UniqueViolation:
            raise _Conflict() from None
        return locked, decided is not None

    try:
        return await db.run(work)
    except _Conflict:
        return None, False
