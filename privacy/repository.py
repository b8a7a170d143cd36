"""All SQL of privacy/: data keys and the audit chain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Table, delete, func, literal, null, select, text, union_all, update
from sqlalchemy import insert as insert_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from privacy.models import (
    AuditEntry,
    AuditHead,
    DataKey,
    PendingAuditEntry,
    PublishedAuditHead,
)

GENESIS_HASH = "0" * 64


def get_data_key(session: Session, owner_id: uuid.UUID) -> DataKey | None:
    return session.get(DataKey, owner_id)


def wrapped_data_key(session: Session, owner_id: uuid.UUID) -> tuple[bytes, int] | None:
    """The wrapped DEK and its KEK version, without loading the row as an object."""
    row = session.execute(select(DataKey.wrapped_dek, DataKey.kek_version)
                          .where(DataKey.owner_id == owner_id)).first()
    return (row[0], row[1]) if row is not None else None


def add_data_key(session: Session, key: DataKey) -> None:
    session.add(key)


def delete_data_key(session: Session, owner_id: uuid.UUID) -> bool:
    result = session.execute(delete(DataKey).where(DataKey.owner_id == owner_id))
    return bool(getattr(result, "rowcount", 0))


def data_keys_not_at(session: Session, version: int, limit: int) -> Sequence[DataKey]:
    stmt = (select(DataKey).where(DataKey.kek_version != version)
            .order_by(DataKey.owner_id).limit(limit))
    return session.scalars(stmt).all()


def lock_data_keys(session: Session) -> None:
    """Hold off every writer of data keys until this transaction ends, and wait for those in
    flight, so a count taken now stays true while a KEK is destroyed. SQLite transactions here
    begin IMMEDIATE, which already holds the database's write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {DataKey.__tablename__} IN SHARE MODE"))


def count_data_keys_by_version(session: Session) -> dict[int, int]:
    rows = session.execute(select(DataKey.kek_version, func.count()).group_by(DataKey.kek_version))
    return {int(v): int(n) for v, n in rows}


def rewrap_data_key(session: Session, owner_id: uuid.UUID, *, from_version: int,
                    to_version: int, wrapped: bytes) -> bool:
    """Compare-and-set, so a concurrent rewrap or shred is never overwritten."""
    result = session.execute(
        update(DataKey)
        .where(DataKey.owner_id == owner_id, DataKey.kek_version == from_version)
        .values(kek_version=to_version, wrapped_dek=wrapped)
        # Matching the statement against every key the batch loaded made a batch quadratic.
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def add_pending_audit_entry(session: Session, entry: PendingAuditEntry) -> None:
    session.add(entry)


# The chainer reads and writes rows with Core, not as ORM objects: building, tracking and
# flushing an object per entry cost it most of its time (bench/audit_chain.py).
_HEAD = cast(Table, AuditHead.__table__)
_LOG = cast(Table, AuditEntry.__table__)
_PENDING = cast(Table, PendingAuditEntry.__table__)
# Table columns, not mapped attributes, so the select skips the ORM's row loading as well.
_PENDING_COLUMNS = tuple(_PENDING.c[name] for name in (
    "id", "at", "actor", "role", "action", "subject", "purpose", "detail", "mac"))


class HeadPosition(NamedTuple):
    seq: int
    hash: str


def _locked_head(session: Session, *, skip_locked: bool) -> HeadPosition | None:
    row = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
                          .with_for_update(skip_locked=skip_locked)).one_or_none()
    return HeadPosition(int(row.seq), row.hash) if row is not None else None


def lock_audit_head(session: Session, *, wait: bool = True) -> HeadPosition | None:
    """Take the chain's head row for update and return its ``seq`` and ``hash``. With
    ``wait=False``, None while another transaction holds it (on SQLite the transaction already
    holds the write lock)."""
    locked = _locked_head(session, skip_locked=not wait)
    if locked is not None or (not wait and session.execute(
            select(_HEAD.c.id).where(_HEAD.c.id == 1)).first() is not None):
        return locked
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(_HEAD).values(id=1, seq=0, hash=GENESIS_HASH)
                    .on_conflict_do_nothing(index_elements=["id"]))
    head = _locked_head(session, skip_locked=False)
    assert head is not None  # inserted above, or by a transaction we then waited for
    return head


def get_audit_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, 1)


def pending_audit_entries(session: Session, limit: int) -> Sequence[Row[Any]]:
    """Up to ``limit`` waiting entries, oldest id first, as rows: ``id``, ``at``, ``actor``,
    ``role``, ``action``, ``subject``, ``purpose``, ``detail`` and ``mac``."""
    return session.execute(select(*_PENDING_COLUMNS).order_by(_PENDING.c.id)
                           .limit(limit)).all()


def move_into_chain(session: Session, entries: Sequence[Mapping[str, Any]],
                    pending_ids: Sequence[int]) -> None:
    """Append linked entries (dicts of ``audit_log``'s columns, in chain order), delete the
    waiting rows they came from and move the head to the last one: one statement each, in the
    caller's transaction, which holds the head's lock."""
    if not entries:
        return
    session.execute(insert_(_LOG), list(entries))
    session.execute(delete(_PENDING).where(_PENDING.c.id.in_(pending_ids)))
    last = entries[-1]
    session.execute(update(_HEAD).where(_HEAD.c.id == 1)
                    .values(seq=last["seq"], hash=last["hash"]))
    # An AuditHead this session loaded before (session.get) would still show the old head.
    head = session.identity_map.get(identity_key(AuditHead, 1))
    if head is not None:
        session.expire(head)


def latest_published_head(session: Session) -> PublishedAuditHead | None:
    return session.scalars(select(PublishedAuditHead).order_by(PublishedAuditHead.id.desc())
                           .limit(1)).one_or_none()


def add_published_head(session: Session, head: PublishedAuditHead) -> None:
    session.add(head)
    session.flush()


def iter_published_heads(session: Session, batch: int = 1000) -> Iterator[PublishedAuditHead]:
    last = 0
    while True:
        rows = session.scalars(select(PublishedAuditHead).where(PublishedAuditHead.id > last)
                               .order_by(PublishedAuditHead.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def audit_hashes(session: Session, seqs: Collection[int]) -> dict[int, str]:
    if not seqs:
        return {}
    rows = session.execute(select(AuditEntry.seq, AuditEntry.hash)
                           .where(AuditEntry.seq.in_(sorted(set(seqs)))))
    return {int(seq): digest for seq, digest in rows}


def pending_audit_summary(session: Session) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(), func.min(PendingAuditEntry.at))).one()
    return int(count), oldest


def iter_audit_entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def audit_rows_for_subject(session: Session, subject: str) -> list[tuple[Any, ...]]:
    """(seq, at, actor, role, action, subject, purpose, detail) of chained entries in chain
    order, then of waiting ones (seq None) in id order, read in one statement."""
    def fields(model: type[AuditEntry] | type[PendingAuditEntry]) -> list[Any]:
        return [model.at, model.actor, model.role, model.action, model.subject, model.purpose,
                model.detail]

    chained = select(AuditEntry.seq.label("seq"), *fields(AuditEntry), literal(0).label("part"),
                     AuditEntry.seq.label("pos")).where(AuditEntry.subject == subject)
    waiting = select(null().label("seq"), *fields(PendingAuditEntry), literal(1).label("part"),
                     PendingAuditEntry.id.label("pos")).where(PendingAuditEntry.subject == subject)
    both = union_all(chained, waiting).subquery()
    rows = session.execute(select(*[c for c in both.c if c.name not in ("part", "pos")])
                           .order_by(both.c.part, both.c.pos)).all()
    return [tuple(row) for row in rows]


def audit_rows_with_detail(session: Session, action: str, key: str,
                           value: str) -> list[tuple[Any, ...]]:
    """Like ``audit_rows_for_subject``, for entries of one action whose detail ``key`` holds
    ``value`` (a keyed hash a lawful request matches)."""
    def fields(model: type[AuditEntry] | type[PendingAuditEntry]) -> list[Any]:
        return [model.at, model.actor, model.role, model.action, model.subject, model.purpose,
                model.detail]

    chained = select(AuditEntry.seq.label("seq"), *fields(AuditEntry), literal(0).label("part"),
                     AuditEntry.seq.label("pos")).where(
        AuditEntry.action == action, AuditEntry.detail[key].as_string() == value)
    waiting = select(null().label("seq"), *fields(PendingAuditEntry), literal(1).label("part"),
                     PendingAuditEntry.id.label("pos")).where(
        PendingAuditEntry.action == action, PendingAuditEntry.detail[key].as_string() == value)
    both = union_all(chained, waiting).subquery()
    rows = session.execute(select(*[c for c in both.c if c.name not in ("part", "pos")])
                           .order_by(both.c.part, both.c.pos)).all()
    return [tuple(row) for row in rows]
