"""Key epochs: what makes crypto-shredding reach backups.

Shredding deletes a resident's wrapped data key from the live database, but every backup taken
before still holds a copy, wrapped under the KEK of its day. So KEKs live in epochs. Data keys
are wrapped under the KEK of the current epoch; at the end of each epoch (``key_epoch_days``) the
epoch rolls: a new KEK is added and every live data key is rewrapped under it; a shredded one is
not, since it is gone. The old KEK is destroyed once no live data key needs it and the backups
that do have expired (``backup_retention_days``, at most one epoch). From then on no backup and
no keyring can open a resident shredded during or before that epoch: a shred reaches every backup
at most one epoch plus the backup retention after it happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from privacy.keyring import Keyring


@dataclass(frozen=True)
class EpochPolicy:
    """How long an epoch lasts and how long database backups are kept (data: settings)."""

    length: timedelta
    backup_retention: timedelta

    def __post_init__(self) -> None:
        if self.backup_retention > self.length:
            raise ValueError("backups must not be kept longer than one key epoch")


@dataclass(frozen=True)
class Epoch:
    """One KEK version's epoch, as the keyring and the database see it now."""

    version: int
    began_at: datetime | None  # None: made before epochs were recorded
    closed_at: datetime | None  # None while active (or unknown for an old keyring)
    active: bool
    live_data_keys: int
    # Active epoch: when it must roll. Closed epoch: when its KEK must be destroyed.
    due_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.due_at is None or now >= self.due_at

    @property
    def roll_unfinished(self) -> bool:
        return not self.active and self.live_data_keys > 0


def epochs(keyring: Keyring, live: Mapping[int, int], policy: EpochPolicy) -> list[Epoch]:
    """Every epoch whose KEK the keyring still holds, oldest first. ``live`` counts live data
    keys per KEK version."""
    versions = sorted(keyring.keks)
    found = []
    for i, version in enumerate(versions):
        began = keyring.kek_began.get(version)
        active = version == keyring.active_kek
        closed = None if active or i + 1 == len(versions) else \
            keyring.kek_began.get(versions[i + 1])
        if active:
            due = began + policy.length if began else None
        else:
            due = closed + policy.backup_retention if closed else None
        found.append(Epoch(version=version, began_at=began, closed_at=closed, active=active,
                           live_data_keys=live.get(version, 0), due_at=due))
    return found


def active_epoch(keyring: Keyring, live: Mapping[int, int], policy: EpochPolicy) -> Epoch:
    return next(e for e in epochs(keyring, live, policy) if e.active)


def due_for_destruction(keyring: Keyring, live: Mapping[int, int], policy: EpochPolicy,
                        now: datetime) -> list[Epoch]:
    """Closed epochs whose backups have all expired: their KEKs are to be destroyed."""
    return [e for e in epochs(keyring, live, policy) if not e.active and e.overdue(now)]


def shredded_unreadable_before(keyring: Keyring) -> datetime | None:
    """Residents shredded before this moment are unreadable in every backup: every KEK that
    could have wrapped their data key is destroyed. None when the oldest kept epoch's start is
    unknown."""
    return keyring.kek_began.get(min(keyring.keks))
