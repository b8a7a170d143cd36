"""The partner hot path's SQL, on PostgreSQL only, through async psycopg.

Why not the ORM and its pool: a verification through them cost ~8 round trips (pre-ping, BEGIN,
key join, card lookup, audit flush, COMMIT...) and three threadpool hops. Here each statement is
prepared once per connection (``prepare_threshold=0``), connections are in autocommit mode so an
``INSERT`` is its own transaction and is durable when it returns (``synchronous_commit`` stays
on: the answer never goes out before its audit entry is on disk), and no connection is pinged
before use: a broken one fails its statement, is thrown away and the statement is tried once on
a fresh connection (``HotDatabase.run``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Json

from cityid.errors import DatabaseUnavailable
from privacy.audit_prepared import PreparedEntry

T = TypeVar("T")
# How long a client should wait after both tries failed (api/errors.py uses the same).
RETRY_AFTER = 2
# Names these connections in pg_stat_activity (an operator's view, and the tests' way in).
APPLICATION_NAME = "cityid-hot-path"
LISTENER_NAME = "cityid-key-listener"

KEY_SQL = (
    "SELECT k.id, k.revoked_at, k.expires_at, k.last_used_at, "
    "p.id, p.name, p.type, p.active, p.policy "
    "FROM partner_keys k JOIN partners p ON p.id = k.partner_id WHERE k.key_hash = %s")
TOUCH_SQL = "UPDATE partner_keys SET last_used_at = %s WHERE id = %s"
# The unique (number, issue) index answers this; no other issue of the number is read.
CARD_SQL = ("SELECT resident_id, status, expires_on FROM cards "
            "WHERE card_number_index = %s AND issue_number = %s")
AUDIT_SQL = ("INSERT INTO audit_pending (at, actor, role, action, subject, purpose, detail, mac) "
             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")


def aware(value: datetime | None) -> datetime | None:
    # Stored as naive UTC (cityid.db.UTCDateTime), read back aware, as the ORM does.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class KeyRow:
    key_id: uuid.UUID
    revoked_at: datetime | None
    expires_at: datetime
    last_used_at: datetime | None
    partner_id: uuid.UUID
    name: str
    type: str
    active: bool
    policy: dict[str, Any] | None


@dataclass(frozen=True)
class CardRow:
    resident_id: uuid.UUID
    status: str
    expires_on: date


def json_text(value: Any) -> str:
    # The ORM's JSON type writes json.dumps' default form; a json column keeps the text as
    # written, so the same form keeps the two paths' rows identical.
    return json.dumps(value)


class HotDatabase:
    """A small pool of async connections of this process's event loop."""

    def __init__(self, conninfo: str, *, size: int) -> None:
        self._conninfo = conninfo
        self._size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open = 0
        self._freed = asyncio.Condition()
        self._closed = False

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True,
                                                     prepare_threshold=0,
                                                     application_name=APPLICATION_NAME)

    async def _acquire(self) -> psycopg.AsyncConnection[Any]:
        async with self._freed:
            while not self._idle and self._open >= self._size:
                await self._freed.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await self._connect()
        except BaseException:
            await self._forget()
            raise

    async def _forget(self) -> None:
        async with self._freed:
            self._open -= 1
            self._freed.notify()

    async def _release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._closed or conn.closed:
            await conn.close()
            await self._forget()
            return
        async with self._freed:
            self._idle.append(conn)
            self._freed.notify()

    async def run(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """``work`` on a pooled connection. A broken connection (dropped by the server, a
        restart, a network cut) is discarded and ``work`` runs once more on a new one; if that
        fails too, :class:`DatabaseUnavailable` (503) says so, and nothing was answered."""
        for attempt in (1, 2):
            try:
                conn = await self._acquire()
            except psycopg.OperationalError:
                if attempt == 2:
                    raise DatabaseUnavailable(retry_after=RETRY_AFTER) from None
                continue
            try:
                result = await work(conn)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                await conn.close()
                await self._forget()
                if attempt == 2:
                    raise DatabaseUnavailable(retry_after=RETRY_AFTER) from None
                continue
            except BaseException:
                await conn.close()
                await self._forget()
                raise
            await self._release(conn)
            return result
        raise AssertionError("unreachable")

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
            self._open -= 1


async def key_row(db: HotDatabase, key_hash: str) -> KeyRow | None:
    async def work(conn: psycopg.AsyncConnection[Any]) -> KeyRow | None:
        cur = await conn.execute(KEY_SQL, (key_hash,))
        row = await cur.fetchone()
        if row is None:
            return None
        policy = row[8]
        if isinstance(policy, str):
            policy = json.loads(policy)
        expires_at = aware(row[2])
        assert expires_at is not None
        return KeyRow(row[0], aware(row[1]), expires_at, aware(row[3]), row[4], row[5],
                      row[6], bool(row[7]), policy)
    return await db.run(work)


async def touch_key(db: HotDatabase, key_id: uuid.UUID, now: datetime) -> None:
    async def work(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(TOUCH_SQL, (naive(now), key_id))
    await db.run(work)


async def card_row(db: HotDatabase, number_index: str, issue_number: int) -> CardRow | None:
    async def work(conn: psycopg.AsyncConnection[Any]) -> CardRow | None:
        cur = await conn.execute(CARD_SQL, (number_index, issue_number))
        row = await cur.fetchone()
        return CardRow(row[0], row[1], row[2]) if row is not None else None
    return await db.run(work)


async def add_entry(db: HotDatabase, entry: PreparedEntry) -> None:
    """One INSERT, its own transaction: when this returns, the entry is on disk."""
    params = (naive(entry.at), entry.actor, entry.role, entry.action, entry.subject,
              entry.purpose, Json(entry.detail, dumps=json_text), entry.mac)

    async def work(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute(AUDIT_SQL, params)
    await db.run(work)
