"""The append-only, hash-chained audit log.

An entry records who did what to which pseudonymous subject, and why: never a personal value.
Each entry's hash covers its content and the previous hash, so an edit, a deletion or a reordering
breaks the chain at that entry. Entries are written in the transaction of the action they record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from privacy import repository
from privacy.models import AuditEntry

# Audit fields hold codes, ids and counts, never free text: this pattern keeps names, addresses
# and dates out even by accident.
CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
DetailValue = str | int | bool | None


@dataclass(frozen=True)
class Actor:
    id: str
    role: str


SYSTEM = Actor(id="system", role="system")


def _check_code(name: str, value: str | None) -> None:
    if value is not None and not CODE.match(value):
        raise ValueError(f"audit {name} must be a short code, not free text")


def entry_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, role: str, action: str,
               subject: str | None, purpose: str | None, detail: Mapping[str, DetailValue]) -> str:
    body = json.dumps(
        {"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor, "role": role,
         "action": action, "subject": subject, "purpose": purpose, "detail": dict(detail)},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest()


PENDING = "cityid.audit_pending"


@dataclass(frozen=True)
class _Pending:
    at: datetime
    actor: Actor
    action: str
    subject: str | None
    purpose: str | None
    detail: dict[str, DetailValue]


def record(session: Session, *, actor: Actor, action: str, subject: str | None = None,
           purpose: str | None = None, detail: Mapping[str, DetailValue] | None = None,
           clock: Clock = system_clock) -> None:
    """Record an action in the transaction that performs it. The entry is checked now and
    linked into the chain when the transaction commits (see ``_chain_on_commit``): the chain's
    head is locked only for that last moment, not for the whole request."""
    details = dict(detail or {})
    for name, value in (("actor", actor.id), ("role", actor.role), ("action", action),
                        ("subject", subject), ("purpose", purpose)):
        _check_code(name, value)
    for key, detail_value in details.items():
        _check_code("detail key", key)
        if isinstance(detail_value, str):
            _check_code(f"detail {key}", detail_value)
    pending: list[_Pending] = session.info.setdefault(PENDING, [])
    pending.append(_Pending(clock.now(), actor, action, subject, purpose, details))


@event.listens_for(Session, "before_commit")
def _chain_on_commit(session: Session) -> None:
    """Append the transaction's entries to the chain, in the commit that makes its other
    writes durable: both land, or neither does."""
    pending: list[_Pending] = session.info.pop(PENDING, [])
    if not pending:
        return
    head = repository.lock_audit_head(session)
    for item in pending:
        seq = head.seq + 1
        digest = entry_hash(head.hash, seq=seq, at=item.at, actor=item.actor.id,
                            role=item.actor.role, action=item.action, subject=item.subject,
                            purpose=item.purpose, detail=item.detail)
        repository.add_audit_entry(session, AuditEntry(
            seq=seq, at=item.at, actor=item.actor.id, role=item.actor.role, action=item.action,
            subject=item.subject, purpose=item.purpose, detail=item.detail,
            prev_hash=head.hash, hash=digest), head)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None


def verify_entries(entries: Iterable[AuditEntry], head_seq: int | None,
                   head_hash: str | None) -> ChainReport:
    expected_prev = repository.GENESIS_HASH
    expected_seq = 1
    count = 0
    for entry in entries:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                missing = (f"entry {expected_seq} is missing" if entry.seq == expected_seq + 1
                           else f"entries {expected_seq} to {entry.seq - 1} are missing")
                return ChainReport(False, count, missing, expected_seq)
            return ChainReport(False, count, f"entry {entry.seq} is out of order", entry.seq)
        if entry.prev_hash != expected_prev:
            return ChainReport(False, count, f"entry {entry.seq} does not follow entry "
                               f"{entry.seq - 1} (reordered, or an entry was removed)", entry.seq)
        digest = entry_hash(entry.prev_hash, seq=entry.seq, at=entry.at, actor=entry.actor,
                            role=entry.role, action=entry.action, subject=entry.subject,
                            purpose=entry.purpose, detail=entry.detail)
        if digest != entry.hash:
            return ChainReport(False, count, f"entry {entry.seq} was altered", entry.seq)
        expected_prev = entry.hash
        expected_seq += 1
        count += 1
    last_seq = expected_seq - 1
    if (head_seq or 0) != last_seq or (last_seq and head_hash != expected_prev):
        if (head_seq or 0) > last_seq:
            return ChainReport(False, count, f"entry {last_seq + 1} is missing (the chain was cut "
                               f"after entry {last_seq}; the head names entry {head_seq})",
                               last_seq + 1)
        return ChainReport(False, count, "the chain head does not match the last entry", last_seq)
    return ChainReport(True, count)


def verify_chain(session: Session) -> ChainReport:
    head = repository.get_audit_head(session)
    return verify_entries(repository.iter_audit_entries(session),
                          head.seq if head else None, head.hash if head else None)
