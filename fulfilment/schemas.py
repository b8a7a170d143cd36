from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

# A site code is a code, not a name: it goes into audit details as one.
SiteCode = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]{0,31}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteIn(Strict):
    site_code: str = SiteCode


class BatchIn(Strict):
    site_code: str = SiteCode
    limit: int = Field(default=200, ge=1, le=1000)


class PickupIn(Strict):
    identity_check: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")


class FulfilmentOut(BaseModel):
    card_id: uuid.UUID
    state: str
    card_status: str
    delivery: str
    site_code: str
    batch_id: uuid.UUID | None
    queued_at: datetime
    printed_at: datetime | None
    mailed_at: datetime | None
    returned_at: datetime | None
    ready_at: datetime | None
    picked_up_at: datetime | None
    not_received_at: datetime | None
    # The steps the card can take now, for the desk's buttons.
    next_steps: list[str]


class BatchOut(BaseModel):
    id: uuid.UUID
    site_code: str
    card_count: int
    card_ids: list[uuid.UUID]
    created_at: datetime
    printed_at: datetime | None
