"""Retention: keep personal data only as long as the program needs it.

A run finds what is due, then purges it in batches, one transaction each: the resident's data
key is destroyed (their ciphertext is unreadable at once in the live database, and in every
backup once the key epoch closes: see ``privacy.epochs``) and the rows are deleted. Legal holds
stop a purge. Several runs may work at once: each resident is row-locked with SKIP LOCKED, and
re-checked inside the lock, so each is purged exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from appointments import retention as appointment_retention
from cityid.clock import Clock
from cityid.db import unit_of_work
from idcard.models import Card
from idcard.states import CardStatus
from oversight import repository
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault

RETENTION_ACTOR = Actor("retention", "system")
T = TypeVar("T")


class RetentionRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    denied_application_days: int = Field(ge=1)
    abandoned_application_days: int = Field(ge=1)
    resident_after_last_card_years: int = Field(ge=0, le=50)
    staff_token_days: int = Field(ge=0)


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> RetentionRules:
    text = path.read_text() if path else \
        resources.files("oversight").joinpath("retention.yaml").read_text()
    return RetentionRules.model_validate(yaml.safe_load(text))


@dataclass
class RetentionReport:
    dry_run: bool
    applications_purged: int = 0
    residents_purged: int = 0
    staff_tokens_deleted: int = 0
    appointments_purged: int = 0
    held: int = 0
    skipped_busy: int = 0
    due: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        return (f"{verb}: {self.applications_purged} applications, {self.residents_purged} "
                f"residents (data keys destroyed), {self.appointments_purged} appointments' names "
                f"and contacts, {self.staff_tokens_deleted} expired sessions; "
                f"{self.held} under legal hold kept"
                + (f"; {self.skipped_busy} left to a concurrent run" if self.skipped_busy else ""))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _card_is_past_retention(cards: list[Card], cutoff: date, today: date) -> bool:
    """Every card dead (expired) and the last one expired or was cancelled before ``cutoff``."""
    if any(c.expires_on >= today for c in cards):
        return False
    ends = []
    for card in cards:
        end = card.expires_on
        if card.status == CardStatus.REVOKED and card.status_changed_at is not None:
            end = min(end, card.status_changed_at.date())
        ends.append(end)
    return max(ends) < cutoff


def _in_batches(sessions: sessionmaker[Session], *, stage: str, clock: Clock, due: int,
                fetch: Callable[[Session, set[uuid.UUID]], Sequence[T]],
                key: Callable[[T], uuid.UUID], subjects: Callable[[T], set[uuid.UUID]],
                purge: Callable[[Session, T, set[uuid.UUID]], bool],
                progress: Callable[[str, int, int], None] | None) -> None:
    """What both purges share: fetch a batch of what is due (past what was ``seen``) in a
    transaction of its own, find the legal holds on it at once, ``purge`` each one (told which
    ids are held; True when it purged), audit how many were purged, report progress."""
    seen: set[uuid.UUID] = set()
    while True:
        with unit_of_work(sessions) as session:
            found = fetch(session, seen)
            if not found:
                return
            held = repository.active_holds(
                session, set().union(*(subjects(item) for item in found)))
            purged_here = 0
            for item in found:
                seen.add(key(item))
                purged_here += purge(session, item, held)
            if purged_here:
                audit.record(session, actor=RETENTION_ACTOR, action="retention.purged",
                             clock=clock, detail={stage: purged_here})
            if progress:
                progress(stage, len(found), due)


def run(sessions: sessionmaker[Session], *, vault: Vault, clock: Clock, rules: RetentionRules,
        dry_run: bool = False, batch: int = 200,
        progress: Callable[[str, int, int], None] | None = None) -> RetentionReport:
    """Purge what is due. ``progress(stage, done, total)`` is called after each batch."""
    now, today = clock.now(), clock.today()
    report = RetentionReport(dry_run=dry_run)
    denied_before = now - timedelta(days=rules.denied_application_days)
    untouched_before = now - timedelta(days=rules.abandoned_application_days)
    with unit_of_work(sessions) as session:
        report.due["applications"] = repository.count_due_applications(
            session, denied_before=denied_before, untouched_before=untouched_before)
        report.due["residents"] = repository.count_residents_with_only_dead_cards(
            session, today=today)

    def purge_application(session: Session, due: tuple[uuid.UUID, uuid.UUID],
                          held: set[uuid.UUID]) -> bool:
        application_id, resident_id = due
        if application_id in held or resident_id in held:
            report.held += 1
            return False
        if dry_run:
            report.applications_purged += 1
            return False
        if not repository.lock_resident(session, resident_id):
            report.skipped_busy += 1
            return False
        application = repository.get_application(session, application_id)
        if application is None:
            return False  # another run took it
        report.applications_purged += 1
        if repository.has_cards(session, resident_id) or \
                repository.other_applications(session, resident_id, application_id):
            repository.delete_application(session, application_id)
        else:
            vault.shred(session, resident_id)
            repository.delete_resident(session, resident_id)
            report.residents_purged += 1
        return True

    _in_batches(sessions, stage="applications", clock=clock, due=report.due["applications"],
                fetch=lambda session, seen: repository.due_applications(
                    session, denied_before=denied_before, untouched_before=untouched_before,
                    exclude=seen, limit=batch),
                key=lambda due: due[0], subjects=set, purge=purge_application,
                progress=progress)

    cutoff = _years_before(today, rules.resident_after_last_card_years)

    def purge_resident(session: Session, resident_id: uuid.UUID, held: set[uuid.UUID]) -> bool:
        cards = list(repository.cards_of(session, resident_id))
        if not cards or not _card_is_past_retention(cards, cutoff, today):
            return False
        if resident_id in held:
            report.held += 1
            return False
        if dry_run:
            report.residents_purged += 1
            return False
        if not repository.lock_resident(session, resident_id):
            report.skipped_busy += 1
            return False
        vault.shred(session, resident_id)
        repository.delete_resident(session, resident_id)
        report.residents_purged += 1
        return True

    _in_batches(sessions, stage="residents", clock=clock, due=report.due["residents"],
                fetch=lambda session, seen: repository.residents_with_only_dead_cards(
                    session, today=today, exclude=seen, limit=batch),
                key=lambda resident_id: resident_id, subjects=lambda resident_id: {resident_id},
                purge=purge_resident, progress=progress)

    with unit_of_work(sessions) as session:
        if not dry_run:
            report.staff_tokens_deleted = repository.delete_dead_tokens(
                session, now - timedelta(days=rules.staff_token_days))
    # Appointments keep their own period, beside their package (appointments/rules.yaml).
    report.appointments_purged = appointment_retention.purge_due(
        sessions, vault=vault, clock=clock, dry_run=dry_run, batch=batch)
    return report
