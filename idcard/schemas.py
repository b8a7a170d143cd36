from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from idcard.states import CardStatus


class CardOut(BaseModel):
    id: uuid.UUID
    card_number: str
    issue_number: int
    status: CardStatus
    status_reason: str | None
    valid_from: date
    expires_on: date
    issued_at: datetime
    kid: str
    verifier_kid: str | None = None  # the key that sealed its QR; None for a plain signed QR
    fulfilment: str
    replaces_id: uuid.UUID | None


class CardAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=24, pattern=r"^[a-z_]+$")


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="expiring", min_length=1, max_length=24, pattern=r"^[a-z_]+$")
