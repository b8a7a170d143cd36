"""The append-only, hash-chained audit log.

An entry records who did what to which pseudonymous subject, and why: never a personal value.
Each entry's hash covers its content and the previous hash, so an edit, a deletion or a reordering
breaks the chain at that entry. Entries are written in the transaction of the action they record,
into a table that takes no lock (``audit_pending``); a chainer links them into the chain in order
a fraction of a second later. Chaining in the request itself made every audited request queue on
the chain's head row until its commit, which capped partner verification at ~120 per second.

A waiting entry is not covered by the hashes yet, so two things keep it from vanishing: its
writer gives it a MAC under a key the database does not hold (``entry_mac``), and the database
lets a waiting row go only once ``audit_log`` holds its copy, with its id and MAC (a trigger).
A copy forged to get a row released carries no valid MAC, which ``verify_chain`` reports. The
chain itself is anchored outside the database by signed, published heads (``privacy.anchor``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

import yaml
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cityid.clock import Clock, system_clock
from cityid.db import unit_of_work
from cityid.errors import AppError, ErrorKind
from privacy import repository
from privacy.anchor import ChainContradictsHead, HeadPublisher
from privacy.errors import AuditDetailRefused
from privacy.models import AuditEntry, PendingAuditEntry
from privacy.terms import holds_immigration_term

log = logging.getLogger("cityid.audit")

# Audit fields hold codes, ids and counts, never free text: this pattern keeps names, addresses
# and dates out even by accident.
CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
DetailValue = str | int | bool | None
# Where a session finds the entry MAC key: a callable in ``Session.info``, put there by
# ``bind_mac_key`` for every session of the program's session factory.
MAC_KEY = "cityid.audit_mac_key"


@dataclass(frozen=True)
class Actor:
    id: str
    role: str


SYSTEM = Actor(id="system", role="system")


def _check_code(name: str, value: str | None) -> None:
    if value is not None and not CODE.match(value):
        raise ValueError(f"audit {name} must be a short code, not free text")


@dataclass(frozen=True)
class ValueKind:
    name: str
    type: type
    pattern: re.Pattern[str] | None
    words: bool  # also refused when it holds an immigration term

    def allows(self, value: DetailValue) -> bool:
        if value is None:
            return True
        if self.type is int and isinstance(value, bool):
            return False
        if not isinstance(value, self.type):
            return False
        if isinstance(value, str):
            if self.pattern is not None and not self.pattern.fullmatch(value):
                return False
            if self.words and holds_immigration_term(value):
                return False
        return True


@dataclass(frozen=True)
class ActionRule:
    purpose: ValueKind | None
    detail: dict[str, ValueKind]


TYPES: dict[str, type] = {"bool": bool, "int": int, "str": str}


def parse_allow_list(data: dict[str, Any]) -> dict[str, ActionRule]:
    kinds = {name: ValueKind(name, TYPES[spec.get("type", "str")],
                             re.compile(spec["pattern"]) if "pattern" in spec else None,
                             bool(spec.get("words")))
             for name, spec in data["kinds"].items()}
    return {action: ActionRule(purpose=kinds[rule["purpose"]] if "purpose" in rule else None,
                               detail={key: kinds[kind]
                                       for key, kind in (rule.get("detail") or {}).items()})
            for action, rule in data["actions"].items()}


@lru_cache(maxsize=1)
def allow_list() -> dict[str, ActionRule]:
    """Per action, the purpose and detail keys an entry may carry and what kind each is."""
    data = yaml.safe_load(resources.files("privacy").joinpath("audit_details.yaml").read_text())
    return parse_allow_list(data)


def check_entry(action: str, purpose: str | None, detail: Mapping[str, DetailValue]) -> None:
    """Refuse anything but the codes the action's allow-list names. The message names the
    action and the key, never the value."""
    rule = allow_list().get(action)
    if rule is None:
        raise AuditDetailRefused(f"The audit action {action!r} is not in the allow-list "
                                 "(privacy/audit_details.yaml).")
    if purpose is not None and (rule.purpose is None or not rule.purpose.allows(purpose)):
        raise AuditDetailRefused(f"The purpose of {action!r} is not one of its codes.")
    for key, value in detail.items():
        kind = rule.detail.get(key)
        if kind is None:
            raise AuditDetailRefused(f"{action!r} takes no detail {key!r}.")
        if not kind.allows(value):
            raise AuditDetailRefused(f"The detail {key!r} of {action!r} is not a {kind.name}.")


def entry_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, role: str, action: str,
               subject: str | None, purpose: str | None, detail: Mapping[str, DetailValue]) -> str:
    body = json.dumps(
        {"seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor, "role": role,
         "action": action, "subject": subject, "purpose": purpose, "detail": dict(detail)},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest()


@lru_cache(maxsize=4)
class IndexMac(Protocol):
    def index_mac(self, message: bytes) -> bytes: ...


AUDIT_MAC_LABEL = b"cityid/audit-entry-mac"


def mac_key(keys: IndexMac) -> bytes:
    """The entry MAC key, derived from the blind-index key (HMAC under it, done by the key
    provider, inside the token if there is one), so it exists only where that key is usable:
    never in the database."""
    return keys.index_mac(AUDIT_MAC_LABEL)


def bind_mac_key(sessions: sessionmaker[Session], key: Callable[[], bytes]) -> None:
    """Give every session of ``sessions`` the entry MAC key (read lazily, when first needed)."""
    sessions.configure(info={MAC_KEY: key})


def _session_mac_key(session: Session) -> bytes | None:
    key = session.info.get(MAC_KEY)
    return key() if callable(key) else None


def entry_mac(key: bytes, *, at: datetime, actor: str, role: str, action: str,
              subject: str | None, purpose: str | None,
              detail: Mapping[str, DetailValue]) -> str:
    body = json.dumps(
        {"at": at.isoformat(timespec="microseconds"), "actor": actor, "role": role,
         "action": action, "subject": subject, "purpose": purpose, "detail": dict(detail)},
        sort_keys=True, separators=(",", ":"),
    )
    return hmac.digest(key, b"cityid/audit-entry\n" + body.encode(), "sha256").hex()


def record(session: Session, *, actor: Actor, action: str, subject: str | None = None,
           purpose: str | None = None, detail: Mapping[str, DetailValue] | None = None,
           clock: Clock = system_clock) -> None:
    """Record an action in the transaction that performs it: the entry commits with the action,
    or neither does. It waits in ``audit_pending``, which takes no lock, until the chainer links
    it into the chain (``chain_pending``)."""
    details = dict(detail or {})
    for name, value in (("actor", actor.id), ("role", actor.role), ("action", action),
                        ("subject", subject), ("purpose", purpose)):
        _check_code(name, value)
    for name, detail_value in details.items():
        _check_code("detail key", name)
        if isinstance(detail_value, str):
            _check_code(f"detail {name}", detail_value)
    check_entry(action, purpose, details)
    key = _session_mac_key(session)
    if key is None:
        # Fail closed: an entry without a MAC could be swapped for a forgery unnoticed.
        raise RuntimeError("this session has no audit MAC key; make sessions with "
                           "privacy.audit.bind_mac_key")
    at = clock.now()
    repository.add_pending_audit_entry(session, PendingAuditEntry(
        at=at, actor=actor.id, role=actor.role, action=action, subject=subject,
        purpose=purpose, detail=details,
        mac=entry_mac(key, at=at, actor=actor.id, role=actor.role, action=action,
                      subject=subject, purpose=purpose, detail=details)))


def chain_pending(session: Session, *, limit: int = 1000, wait: bool = False) -> int:
    """Link up to ``limit`` waiting entries into the chain, oldest id first, and return how
    many. One chainer at a time holds the head; with ``wait=False`` a second one returns 0 at
    once instead of queueing behind it."""
    if not repository.pending_audit_entries(session, 1):
        return 0  # nothing waiting: don't take the head's write lock for nothing
    head = repository.lock_audit_head(session, wait=wait)
    if head is None:
        return 0
    waiting = repository.pending_audit_entries(session, limit)
    prev_hash, seq = head.hash, head.seq
    linked: list[dict[str, Any]] = []
    for item in waiting:
        seq += 1
        digest = entry_hash(prev_hash, seq=seq, at=item.at, actor=item.actor, role=item.role,
                            action=item.action, subject=item.subject, purpose=item.purpose,
                            detail=item.detail)
        linked.append({"seq": seq, "at": item.at, "actor": item.actor, "role": item.role,
                       "action": item.action, "subject": item.subject, "purpose": item.purpose,
                       "detail": item.detail, "prev_hash": prev_hash, "hash": digest,
                       "pending_id": item.id, "mac": item.mac})
        prev_hash = digest
    repository.move_into_chain(session, linked, [item.id for item in waiting])
    return len(linked)


@dataclass(frozen=True)
class Entry:
    """An entry as readers see it; ``seq`` is None while it waits to be chained."""
    seq: int | None
    at: datetime
    actor: str
    role: str
    action: str
    subject: str | None
    purpose: str | None
    detail: dict[str, DetailValue]


def entries_about(session: Session, subject: str) -> list[Entry]:
    """Every entry about a pseudonymous subject, chained ones in chain order, then waiting ones.
    One statement, so an entry the chainer moves meanwhile is seen exactly once."""
    return [Entry(*row) for row in repository.audit_rows_for_subject(session, subject)]


def entries_with_detail(session: Session, *, action: str, key: str, value: str) -> list[Entry]:
    """Entries of one action whose detail ``key`` holds ``value``, in chain order: how a keyed
    hash (a police incident reference) is matched, without anyone reading it."""
    return [Entry(*row) for row in repository.audit_rows_with_detail(session, action, key, value)]


class Chainer:
    """Links waiting entries into the chain, from a thread of its own, every ``interval``
    seconds and at once while a backlog remains. Every API process runs one; they take turns on
    the head without waiting for each other. Until an entry is chained (a fraction of a second)
    it is durable but not yet covered by the hash chain. With a ``publisher``, it also signs and
    publishes the chain's head whenever the publisher's interval has passed and the head moved."""

    def __init__(self, sessions: sessionmaker[Session], *, interval: float,
                 batch: int = 1000, publisher: HeadPublisher | None = None) -> None:
        self._sessions = sessions
        self._interval = interval
        self._batch = batch
        self._publisher = publisher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def publisher(self) -> HeadPublisher | None:
        return self._publisher

    def chain_once(self, *, wait: bool = False) -> int:
        with unit_of_work(self._sessions) as session:
            linked = chain_pending(session, limit=self._batch, wait=wait)
        if self._publisher is not None:
            try:
                with unit_of_work(self._sessions) as session:
                    self._publisher.publish(session, force=False)
            except ChainContradictsHead as exc:
                log.error("audit.publish_refused", extra={"error": exc.code})
            except AppError as exc:
                # No signing key yet (a command run before the first `cityid serve`) is
                # expected, not worth a warning; chaining goes on regardless.
                level = logging.DEBUG if exc.kind is ErrorKind.UNAVAILABLE else logging.WARNING
                log.log(level, "audit.publish_failed", extra={"error": exc.code})
        return linked

    def drain(self) -> int:
        """Chain everything waiting now, waiting for the head if another chainer has it."""
        total = 0
        while (linked := self.chain_once(wait=True)) > 0:
            total += linked
        return total

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-chainer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then chain what is left, so a clean shutdown leaves nothing
        waiting."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        try:
            self.drain()
        except SQLAlchemyError as exc:
            log.warning("audit.chain_failed", extra={"error": type(exc).__name__})

    def _run(self) -> None:
        pause = self._interval
        while not self._stop.is_set():
            try:
                linked = self.chain_once()
            except SQLAlchemyError as exc:  # the database is away: try again, less often
                log.warning("audit.chain_failed", extra={"error": type(exc).__name__})
                pause = min(pause * 2, 30.0)
                self._stop.wait(pause)
                continue
            pause = self._interval
            if linked < self._batch:
                self._stop.wait(pause)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None
    waiting: int = 0  # durable entries the chainer has not linked yet
    oldest_waiting: datetime | None = None


def verify_entries(entries: Iterable[AuditEntry], head_seq: int | None,
                   head_hash: str | None, *, key: bytes | None = None) -> ChainReport:
    """Check hashes, order and the head; with ``key``, also each entry's MAC. Entries without
    a MAC pass only before the first one that has one: those were chained before entries
    carried MACs."""
    expected_prev = repository.GENESIS_HASH
    expected_seq = 1
    count = 0
    macs_seen = False
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
        if key is not None and (entry.mac is not None or macs_seen):
            macs_seen = True
            mac = entry_mac(key, at=entry.at, actor=entry.actor, role=entry.role,
                            action=entry.action, subject=entry.subject, purpose=entry.purpose,
                            detail=entry.detail)
            if entry.mac is None or not hmac.compare_digest(mac, entry.mac):
                return ChainReport(False, count, f"entry {entry.seq} was not written by this "
                                   "program (its MAC is missing or wrong: forged, or altered "
                                   "before it was chained)", entry.seq)
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
    report = verify_entries(repository.iter_audit_entries(session),
                            head.seq if head else None, head.hash if head else None,
                            key=_session_mac_key(session))
    waiting, oldest = repository.pending_audit_summary(session)
    return replace(report, waiting=waiting, oldest_waiting=oldest)
