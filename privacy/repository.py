"""All SQL of privacy/: data keys and the audit chain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from privacy.models import AuditEntry, AuditHead, DataKey, LegalHold

GENESIS_HASH = "0" * 64


def get_data_key(session: Session, owner_id: uuid.UUID) -> DataKey | None:
    return session.get(DataKey, owner_id)


def add_data_key(session: Session, key: DataKey) -> None:
    session.add(key)


def delete_data_key(session: Session, owner_id: uuid.UUID) -> bool:
    result = session.execute(delete(DataKey).where(DataKey.owner_id == owner_id))
    return bool(getattr(result, "rowcount", 0))


def data_keys_not_at(session: Session, version: int, limit: int) -> Sequence[DataKey]:
    stmt = (select(DataKey).where(DataKey.kek_version != version)
            .order_by(DataKey.owner_id).limit(limit))
    return session.scalars(stmt).all()


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
    )
    return bool(getattr(result, "rowcount", 0))


def lock_audit_head(session: Session) -> AuditHead:
    """Take the chain's head row for update: concurrent appenders queue here."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS_HASH)
                    .on_conflict_do_nothing(index_elements=["id"]))
    return session.scalars(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def get_audit_head(session: Session) -> AuditHead | None:
    return session.get(AuditHead, 1)


def add_audit_entry(session: Session, entry: AuditEntry, head: AuditHead) -> None:
    session.add(entry)
    head.seq = entry.seq
    head.hash = entry.hash
    session.flush()


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


def audit_entries_for_subject(session: Session, subject: str) -> Sequence[AuditEntry]:
    return session.scalars(
        select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq)
    ).all()


def active_holds(session: Session, subject_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not subject_ids:
        return set()
    return set(session.scalars(select(LegalHold.subject_id).where(
        LegalHold.subject_id.in_(list(subject_ids)), LegalHold.released_at.is_(None))))


def holds_on(session: Session, subject_id: uuid.UUID) -> Sequence[LegalHold]:
    return session.scalars(select(LegalHold).where(LegalHold.subject_id == subject_id)
                           .order_by(LegalHold.placed_at)).all()


def get_hold(session: Session, hold_id: uuid.UUID) -> LegalHold | None:
    return session.get(LegalHold, hold_id)


def add_hold(session: Session, hold: LegalHold) -> None:
    session.add(hold)
    session.flush()
