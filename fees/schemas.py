from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeeRecordIn(BaseModel):
    """Paid (the amount, in cents, as a check) or waived (a reason code). Nothing else: no card
    number, no payer, no receipt of a payment provider."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["paid", "waived"]
    amount_cents: int | None = Field(default=None, ge=0, le=1_000_000)
    waiver_reason: str | None = Field(default=None, min_length=1, max_length=32,
                                      pattern=r"^[a-z][a-z0-9_]*$")


class FeeOut(BaseModel):
    card_id: uuid.UUID
    kind: str
    age_band: str
    amount_due_cents: int
    currency: str
    status: str
    amount_paid_cents: int | None
    waiver_code: str | None
    recorded_by: str | None
    recorded_at: datetime | None
    created_at: datetime
    # The codes a waiver may take, for the desk's form.
    waiver_reasons: list[str]


class FeeCell(BaseModel):
    outcome: str  # paid, due, none_due or waived:<reason>
    count: int | None  # None when withheld
    amount_cents: int | None  # None when withheld
    suppressed: bool


class FeeRow(BaseModel):
    kind: str
    currency: str
    total: int | None
    total_suppressed: bool
    cells: list[FeeCell]


class FeeReport(BaseModel):
    k: int
    outcomes: list[str]
    rows: list[FeeRow]
    notes: list[str]
