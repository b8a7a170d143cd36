"""What a correction before the decision and a receipt take and give (enrollment.corrections,
enrollment.receipt)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from enrollment.schemas import Address, CareOf, Designations, Name, Strict
from enrollment.states import ApplicationStatus

# The fields a clerk may correct, by the names the audit entry lists (never their values).
EDITABLE_FIELDS = ("first_name", "middle_name", "last_name", "date_of_birth", "address",
                   "care_of", "designations")
# Fields that are always there: a correction can change them but not remove them.
_REQUIRED = ("first_name", "last_name", "date_of_birth", "designations")


class ApplicationEdit(Strict):
    """A correction: only the fields sent change. ``middle_name: null`` removes the middle name.
    Sending ``address`` or ``care_of`` replaces where the card goes: a home address, a care-of
    address, or (both null) no address; whichever is not sent is cleared."""

    first_name: Name | None = None
    middle_name: Name | None = None
    last_name: Name | None = None
    date_of_birth: date | None = None
    address: Address | None = None
    care_of: CareOf | None = None
    designations: Designations | None = None

    @model_validator(mode="after")
    def _complete(self) -> ApplicationEdit:
        for name in _REQUIRED:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} can be corrected but not removed")
        if self.address is not None and self.care_of is not None:
            raise ValueError("give a home address or a care-of address, not both")
        return self

    @property
    def moves_the_card(self) -> bool:
        """Whether the correction says where the card goes."""
        return bool(self.model_fields_set & {"address", "care_of"})


class DocumentWithdrawIn(Strict):
    reason: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9_]+$")


class MissingItem(BaseModel):
    """Something the rulebook still needs: its code (``identity_points``, ``photo_document``…)
    and, for points, how many more."""

    code: str
    points: int | None


class ReceiptOut(BaseModel):
    reference: str
    status: ApplicationStatus
    status_label: str
    next_step: str
    delivery: Literal["mail", "pickup"]
    documents_complete: bool
    missing: list[MissingItem]
    lang: str
    dir: Literal["ltr", "rtl"]
    issued_on: date
    status_url: str
