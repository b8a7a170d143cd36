from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from enrollment.states import ApplicationStatus

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_printable)]
Line = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_printable)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(Strict):
    line1: Line
    line2: Line | None = None
    city: Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_printable)]
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^[0-9]{5}(-[0-9]{4})?$")


class CareOf(Address):
    """A shelter or organisation that receives mail for the applicant."""

    organisation: Line


class ResidentData(Strict):
    first_name: Name
    middle_name: Name | None = None
    last_name: Name
    date_of_birth: date
    address: Address | None = None


class EmergencyContact(Strict):
    name: Name
    phone: str = Field(pattern=r"^\+?[0-9 ()\-]{7,20}$")


class Designations(Strict):
    """What the holder chooses to show on the card."""

    gender: Literal["F", "M", "X"] | None = None
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]] = Field(default_factory=list,
                                                                           max_length=2)
    veteran: StrictBool = False
    organ_donor: StrictBool = False
    emergency_contact: EmergencyContact | None = None


class Caretaker(Strict):
    first_name: Name
    last_name: Name
    relationship: Literal["parent", "legal_guardian", "foster_parent", "relative", "other"]


class ApplicationCreate(Strict):
    first_name: Name
    middle_name: Name | None = None
    last_name: Name
    date_of_birth: date
    address: Address | None = None
    care_of: CareOf | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{7,20}$")
    email: str | None = Field(default=None, max_length=254,
                              pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
    designations: Designations = Field(default_factory=Designations)
    caretaker: Caretaker | None = None

    @model_validator(mode="after")
    def _one_address(self) -> ApplicationCreate:
        if self.address is not None and self.care_of is not None:
            raise ValueError("give a home address or a care-of address, not both")
        return self


class DocumentIn(Strict):
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    expires_on: date | None = None
    issued_on: date | None = None
    shows_photo: StrictBool = False
    shows_dob: StrictBool = False


class DecisionIn(Strict):
    outcome: Literal["approve", "deny", "request_documents"]
    reason: str = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9_]+$")
    override_rulebook: StrictBool = False


class TransitionIn(Strict):
    pass


class DuplicateResolutionIn(Strict):
    resolution: str = Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_]+$")


class StatusCheckIn(Strict):
    reference: str = Field(min_length=1, max_length=32)
    date_of_birth: date
    lang: str | None = Field(default=None, max_length=16)


# --- answers --------------------------------------------------------------------------------


class DocumentOut(BaseModel):
    id: uuid.UUID  # names the record, to withdraw it (enrollment.corrections)
    category: str
    points: int
    shows_photo: bool
    shows_dob: bool
    checked_at: datetime


class TallyOut(BaseModel):
    satisfied: bool
    points: dict[str, int]
    total_points: int
    missing: list[str]
    messages: list[str]


class ApplicationOut(BaseModel):
    reference: str
    status: ApplicationStatus
    delivery: Literal["mail", "pickup"]
    first_name: str
    middle_name: str | None
    last_name: str
    date_of_birth: date
    address: Address | None
    care_of: CareOf | None
    phone: str | None
    email: str | None
    designations: Designations
    caretaker: Caretaker | None
    documents: list[DocumentOut]
    tally: TallyOut
    has_photo: bool
    possible_duplicate: bool
    decision_reason: str | None
    rulebook_override: bool
    created_at: datetime
    decided_at: datetime | None


class DuplicateOut(BaseModel):
    id: uuid.UUID
    application_reference: str
    application_status: ApplicationStatus
    matched_reference: str
    matched_status: ApplicationStatus
    created_at: datetime


class StatusOut(BaseModel):
    status: str
    label: str
    next_step: str
    lang: str
    dir: Literal["ltr", "rtl"]


class DocumentKindOut(BaseModel):
    kind: str
    label: str
    category: str
    needs_expiry_date: bool
    needs_issue_date: bool
    photo: str
    date_of_birth: str
