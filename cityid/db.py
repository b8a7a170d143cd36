"""Database kernel: the declarative Base, engines for SQLite and PostgreSQL, and the unit of work.

One transaction per request or CLI command: ``unit_of_work`` commits on success and rolls back on
any exception. Services only ``flush()``.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock up front;
    # BEGIN IMMEDIATE serialises writers so read-then-write (the audit chain head) cannot race.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block finishes, roll back if it raises. The transaction
    begins at the session's first statement."""
    session, finished = factory(), False
    try:
        yield session
        finished = True
    finally:
        end_session(session, commit=finished)


def end_session(session: Session, *, commit: bool) -> None:
    """End a unit of work: commit or roll back, then close, forgetting what it opened."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.info.clear()  # nothing opened in this transaction outlives it
        session.close()


def ping(session: Session) -> bool:
    return bool(session.execute(text("SELECT 1")).scalar_one() == 1)


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (session_or_engine.get_bind() if isinstance(session_or_engine, Session)
            else session_or_engine)
    return bind.dialect.name == "postgresql"


# SQLite's own words for "not now": the busy timeout ran out, or the file can't be opened.
# Its other operational errors (no such table, syntax) are bugs and stay bugs.
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "unable to open database file",
                       "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error says the database can't serve right now (a dropped, refused or
    timed-out connection, no free connection in the pool, a lock that did not come), as opposed
    to a request or a program that is wrong. Such a request can be tried again as it is."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        message = str(exc.orig).lower()
        return isinstance(exc, OperationalError) and any(m in message for m in _SQLITE_UNAVAILABLE)
    # psycopg's OperationalError covers a lost or refused connection, an administrator's
    # shutdown and a cancelled statement; InterfaceError a connection already closed.
    return isinstance(exc, OperationalError | InterfaceError)


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint or index an insert or update broke, on either
    backend: PostgreSQL names it; SQLite names its columns, looked up in the metadata."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    found = _SQLITE_UNIQUE.search(str(exc.orig))
    if found is None:
        return None
    qualified = [c.strip() for c in found.group(1).split(",")]
    table = Base.metadata.tables.get(qualified[0].split(".")[0])
    if table is None:
        return None
    columns = {c.split(".", 1)[1] for c in qualified}
    candidates = [(con.name, {c.name for c in con.columns}) for con in table.constraints
                  if isinstance(con, UniqueConstraint | PrimaryKeyConstraint)]
    candidates += [(ix.name, {c.name for c in ix.columns}) for ix in table.indexes if ix.unique]
    for candidate, cols in candidates:
        if cols == columns and candidate is not None:
            return str(candidate)
    return None


def name_key(name: str) -> str:
    """A name as compared for uniqueness, the same on every backend (SQLite's lower() folds
    ASCII only): compatibility-normalised, case-folded, runs of spaces made one."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())
