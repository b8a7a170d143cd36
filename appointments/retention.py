"""Purging what bookings keep of people: a set time after the appointment's day (or its
cancellation) the appointment's data key is destroyed and its sealed fields, code index and
contact hash are cleared. The row stays, without them, for the numbers."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from appointments import repository
from cityid.clock import Clock
from cityid.db import unit_of_work
from notifications import service as notices
from privacy import audit
from privacy.audit import Actor
from privacy.vault import Vault

RETENTION_ACTOR = Actor("retention", "system")


def purge_due(sessions: sessionmaker[Session], *, vault: Vault, clock: Clock,
              dry_run: bool = False, batch: int = 200) -> int:
    """Purge every appointment past its ``purge_on`` day, a batch per transaction; rows locked
    by a concurrent run are skipped (SKIP LOCKED), so each is purged once."""
    total, today = 0, clock.today()
    while True:
        with unit_of_work(sessions) as session:
            due = repository.due_for_purge(session, today, batch)
            if not due or dry_run:
                return total + len(due)
            for appointment in due:
                notices.withdraw_reminders(session, appointment.id)
                vault.shred(session, appointment.id)
                repository.purge_fields(session, appointment.id, clock.now())
            total += len(due)
            audit.record(session, actor=RETENTION_ACTOR, action="retention.appointments_purged",
                         clock=clock, detail={"appointments": len(due)})
