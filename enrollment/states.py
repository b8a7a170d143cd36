"""An application's states: one vocabulary for the model, the schemas, the workflow table and the
status page's messages."""

from __future__ import annotations

from enum import StrEnum


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_DOCUMENTS = "needs_documents"
    APPROVED = "approved"
    DENIED = "denied"
    CARD_ISSUED = "card_issued"
    # Reached through the card's fulfilment (mailed, or held at a centre, then collected).
    READY_FOR_PICKUP = "ready_for_pickup"
    MAILED = "mailed"
    PICKED_UP = "picked_up"


# Before a decision the clerk can still add documents and a photo.
BEFORE_DECISION = frozenset({ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED,
                             ApplicationStatus.IN_REVIEW, ApplicationStatus.NEEDS_DOCUMENTS})
# Statuses that come after a card was issued.
WITH_A_CARD = frozenset({ApplicationStatus.CARD_ISSUED, ApplicationStatus.READY_FOR_PICKUP,
                         ApplicationStatus.MAILED, ApplicationStatus.PICKED_UP})
