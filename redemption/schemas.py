from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from idcard.verifier import Reason

# A code from the partner type's list (partners/purposes.yaml), never words a caller chose.
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
# A police case number: kept only as a keyed hash, so its shape is all that is checked here.
INCIDENT_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 /._-]{0,39}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardPresented(Strict):
    """A card shown to a partner: its QR, or its number with the holder's date of birth."""

    # The rule of _one_way below, in the document, so a client knows it before sending.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["qr"], "properties": {"qr": {"type": "string"},
                                            "card_number": {"type": "null"}}},
        {"required": ["card_number", "date_of_birth"],
         "properties": {"qr": {"type": "null"}, "card_number": {"type": "string"},
                        "date_of_birth": {"type": "string"}}},
    ]})

    # No length limit here: an oversized QR answers `unreadable` from the verifier, like any
    # other QR it cannot read (the body limit still bounds the request).
    qr: str | None = Field(default=None, min_length=1)
    card_number: str | None = Field(default=None, pattern=r"^[0-9]{16}$")
    date_of_birth: date | None = None

    @model_validator(mode="after")
    def _one_way(self) -> CardPresented:
        if (self.qr is None) == (self.card_number is None):
            raise ValueError("give either qr, or card_number with date_of_birth")
        if self.card_number is not None and self.date_of_birth is None:
            raise ValueError("card_number needs date_of_birth")
        return self


class VerifyIn(CardPresented):
    purpose: str | None = Field(default=None, pattern=PURPOSE_PATTERN,
                                description="A purpose code of the partner's type.")
    incident_reference: str | None = Field(
        default=None, pattern=INCIDENT_REFERENCE_PATTERN,
        description="Police only: the case number, kept only as a keyed hash.")


class VerifyOut(BaseModel):
    result: Literal["valid", "invalid"]
    reason: Reason
    disclosed: dict[str, Any]


class Limit(Strict):
    count: int = Field(default=1, ge=1, le=1000)
    period: Literal["lifetime", "calendar_year", "calendar_month", "rolling_days"]
    days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _days_for_rolling(self) -> Limit:
        if (self.period == "rolling_days") != (self.days is not None):
            raise ValueError("days is needed for, and only for, a rolling_days limit")
        return self


class BenefitCreate(Strict):
    partner_id: uuid.UUID
    name: str = Field(min_length=2, max_length=120)
    category: Literal["membership", "discount", "service"]
    limit: Limit | None = None
    membership_days: int | None = Field(default=None, ge=1, le=3660)
    active_from: date
    active_until: date

    @model_validator(mode="after")
    def _window(self) -> BenefitCreate:
        if self.active_until < self.active_from:
            raise ValueError("active_until is before active_from")
        if self.category != "membership" and self.membership_days is not None:
            raise ValueError("membership_days is only for memberships")
        if self.category != "membership" and self.limit is None:
            raise ValueError("a discount or service needs a limit")
        return self


class BenefitUpdate(Strict):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    active_from: date | None = None
    active_until: date | None = None


class BenefitOut(BaseModel):
    id: uuid.UUID
    partner_id: uuid.UUID
    name: str
    category: str
    limit: Limit
    membership_days: int | None
    active_from: date
    active_until: date


class HolderBenefitState(BaseModel):
    benefit: BenefitOut
    active_today: bool
    available: bool
    used_in_period: int
    last_redeemed_on: date | None
    member_until: date | None
    # When a limit that is used up opens again; None while available, and for a once-only one.
    next_available_on: date | None = None


class RedemptionIn(CardPresented):
    benefit_id: uuid.UUID


class ReceiptOut(BaseModel):
    id: uuid.UUID
    receipt_number: str
    benefit_id: uuid.UUID
    benefit_name: str
    holder_token: str
    redeemed_at: datetime
    member_until: date | None
    voided_at: datetime | None


class VoidIn(Strict):
    reason: Literal["entered_in_error", "holder_changed_mind", "duplicate_scan"]


class HolderHistoryIn(Strict):
    """What the route took before it needed a one-time code; still accepted so the refusal
    can say what to do, and still throttled per card."""

    card_number: str = Field(pattern=r"^[0-9]{16}$")
    date_of_birth: date
    issue_number: int = Field(ge=1, le=1000)


class HolderEvent(BaseModel):
    partner: str
    partner_type: str
    event: Literal["verified", "redeemed", "voided"]
    at: datetime


class ReportCell(BaseModel):
    partner: str
    benefit: str
    month: str
    redemptions: int | None
    suppressed: bool
