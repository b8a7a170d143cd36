from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

PartnerType = Literal["cultural", "library", "benefit", "bank", "credit_union", "police"]
Operation = Literal["verify", "kyc", "redeem"]
Attribute = Literal["validity", "expires_on", "holder_token", "full_name", "date_of_birth",
                    "address", "card_number", "photo"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Policy(Strict):
    operations: list[Operation]
    attributes: list[Attribute]


class PartnerCreate(Strict):
    name: str = Field(min_length=2, max_length=120)
    type: PartnerType
    policy: Policy | None = None


class PartnerUpdate(Strict):
    # Strict: {"active": 0} or "false" is a client's bug, not a deactivation.
    active: StrictBool | None = None
    policy: Policy | None = None


class PartnerOut(BaseModel):
    id: uuid.UUID
    name: str
    type: PartnerType
    active: bool
    policy: Policy
    purpose_required: bool
    purposes: list[str]
    created_at: datetime


class KeyCreate(Strict):
    label: str | None = Field(default=None, max_length=64)
    expires_in_days: int = Field(default=365, ge=1, le=3 * 365)


class KeyOut(BaseModel):
    id: uuid.UUID
    prefix: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="Shown once. Only its hash is kept.")
