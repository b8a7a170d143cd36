"""A card's states: one vocabulary for the model, the schemas, the lifecycle table and the
verifier's answers."""

from __future__ import annotations

from enum import StrEnum


class CardStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    # Never stored: a card is expired from the day after its expiry date, whatever its row says.
    EXPIRED = "expired"


# What a card's row can hold.
STORED_STATUSES = frozenset({CardStatus.ACTIVE, CardStatus.SUSPENDED, CardStatus.REVOKED})
