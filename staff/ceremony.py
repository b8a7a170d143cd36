"""Key ceremonies: a key leaves the program only when two admins agree.

One admin starts a ceremony for a kind of export (and its recipient); another admin approves
it within minutes; the starter then uses it, once, shortly after. Each step is audited, and
the export itself is audited where it happens. Nobody approves their own ceremony, so one
stolen admin session (or one admin alone) can't let a key out."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import AppError, Conflict, ErrorKind, Forbidden, NotFound
from cityid.roles import Role
from privacy import audit
from privacy.audit import Actor
from staff import repository
from staff.models import KeyCeremony

RULES_PATH = Path(__file__).with_name("ceremony.yaml")


class CeremonyNotFound(NotFound):
    code = "key_ceremony_not_found"
    title = "No such key ceremony"


class OwnCeremony(Forbidden):
    code = "own_key_ceremony"
    title = "Another admin must approve a key ceremony; its starter cannot"


class CeremonyNotApproved(Forbidden):
    code = "key_ceremony_not_approved"
    title = ("Letting this key out needs a key ceremony you started and another admin "
             "approved; start one and ask a second admin to approve it")


class CeremonyExpired(Conflict):
    code = "key_ceremony_expired"
    title = "The key ceremony was not approved or used in time; start a new one"


class CeremonyUsed(Conflict):
    code = "key_ceremony_used"
    title = "The key ceremony was already used; start a new one"


class UnknownCeremonyKind(AppError):
    kind = ErrorKind.INVALID
    code = "unknown_key_ceremony_kind"
    title = "No such kind of key ceremony"


@dataclass(frozen=True)
class CeremonyRules:
    approve_within: timedelta
    use_within: timedelta
    kinds: dict[str, str]  # kind -> what its recipient is ("partner" or "none")


@functools.cache
def rules() -> CeremonyRules:
    data = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    return CeremonyRules(approve_within=timedelta(minutes=int(data["approve_within_minutes"])),
                         use_within=timedelta(minutes=int(data["use_within_minutes"])),
                         kinds={k: str(v["recipient"]) for k, v in data["kinds"].items()})


def _staff_id(actor: Actor) -> uuid.UUID | None:
    try:
        return uuid.UUID(actor.id)
    except ValueError:
        return None  # the command line acts as "cli"


def start(session: Session, *, actor: Actor, kind: str, recipient_id: uuid.UUID | None,
          clock: Clock = system_clock) -> KeyCeremony:
    recipient = rules().kinds.get(kind)
    if recipient is None or (recipient == "none") != (recipient_id is None):
        raise UnknownCeremonyKind()
    ceremony = KeyCeremony(id=uuid.uuid4(), kind=kind, recipient_id=recipient_id,
                           started_by=_staff_id(actor), started_at=clock.now())
    repository.add_ceremony(session, ceremony)
    audit.record(session, actor=actor, action="keys.ceremony_started",
                 subject=f"ceremony:{ceremony.id}", detail={"kind": kind}, clock=clock)
    return ceremony


def approve(session: Session, *, actor: Actor, ceremony_id: uuid.UUID,
            clock: Clock = system_clock) -> KeyCeremony:
    ceremony = repository.lock_ceremony(session, ceremony_id)
    if ceremony is None:
        raise CeremonyNotFound()
    approver = _staff_id(actor)
    if actor.role != Role.ADMIN.value or approver is None or approver == ceremony.started_by:
        raise OwnCeremony()
    if ceremony.used_at is not None:
        raise CeremonyUsed()
    if ceremony.approved_at is not None:
        return ceremony
    if clock.now() > ceremony.started_at + rules().approve_within:
        raise CeremonyExpired()
    ceremony.approved_by, ceremony.approved_at = approver, clock.now()
    session.flush()
    audit.record(session, actor=actor, action="keys.ceremony_approved",
                 subject=f"ceremony:{ceremony.id}", detail={"kind": ceremony.kind}, clock=clock)
    return ceremony


def use(session: Session, *, actor: Actor, ceremony_id: uuid.UUID | None, kind: str,
        recipient_id: uuid.UUID | None, clock: Clock = system_clock) -> None:
    """Spends an approved ceremony on the export it was made for; refused otherwise. On the
    command line (no staff account) any approved ceremony of the kind will do: whoever runs it
    already holds the machine, and two admins still agreed to the export."""
    if ceremony_id is None:
        raise CeremonyNotApproved()
    ceremony = repository.lock_ceremony(session, ceremony_id)
    if ceremony is None or ceremony.kind != kind or ceremony.recipient_id != recipient_id:
        raise CeremonyNotApproved()
    starter = _staff_id(actor)
    if starter is not None and starter != ceremony.started_by:
        raise CeremonyNotApproved()
    if ceremony.approved_at is None:
        raise CeremonyNotApproved()
    if ceremony.used_at is not None:
        raise CeremonyUsed()
    if clock.now() > ceremony.approved_at + rules().use_within:
        raise CeremonyExpired()
    ceremony.used_at = clock.now()
    session.flush()
    audit.record(session, actor=actor, action="keys.ceremony_used",
                 subject=f"ceremony:{ceremony.id}", detail={"kind": kind}, clock=clock)
