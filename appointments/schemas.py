from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from enrollment.schemas import ApplicationOut

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
# A reminder contact: a phone number or an e-mail address, nothing else. Neither may start or end
# with a space and the e-mail is printable ASCII, so the pattern means the same in the OpenAPI
# document (ECMA regex) as here (Python's \s differs), and stripping whitespace changes nothing.
Contact = Annotated[str, StringConstraints(
    pattern=r"^(\+?[0-9(][0-9 ()\-]{5,18}[0-9)]|[!-?A-~]{1,64}@[!-?A-~]+\.[!-?A-~]+)$",
    max_length=254)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BookingIn(Strict):
    slot_id: uuid.UUID
    first_name: str = Field(min_length=1, max_length=60)
    contact: Contact | None = None
    party_size: int = Field(default=1, ge=1, le=20)
    interpreter: bool = False
    interpreter_language: LanguageCode | None = None
    lang: str | None = Field(default=None, max_length=16)


class CodeIn(Strict):
    code: str = Field(min_length=4, max_length=40)


class RescheduleIn(CodeIn):
    slot_id: uuid.UUID


class DocumentToBring(BaseModel):
    kind: str
    label: str
    category: str
    points: int


class AppointmentOut(BaseModel):
    """What the holder of the booking code sees. The code itself appears only in the answer to
    the booking, once."""

    code: str | None = None
    status: str
    site_id: uuid.UUID
    site_name: str
    site_address: str
    starts_at: datetime
    local_start: str
    party_size: int
    interpreter: bool
    interpreter_language: str | None
    first_name: str | None
    # "kept_for_reminders": a reminder goes to the contact a day before (appointments/reminders.py)
    reminders: str  # or "none"
    documents_to_bring: list[DocumentToBring] = Field(default_factory=list)


class PublicSiteOut(BaseModel):
    id: uuid.UUID
    name: str
    address: str
    time_zone: str
    accessibility: list[str]
    languages: list[str]
    opens_on: date | None
    closes_on: date | None


class DayAppointmentOut(BaseModel):
    id: uuid.UUID
    starts_at: datetime
    local_start: str
    status: str
    party_size: int
    language: str
    interpreter: bool
    interpreter_language: str | None
    first_name: str | None
    application_id: uuid.UUID | None


class WalkInIn(Strict):
    language: LanguageCode = "en"
    interpreter: bool = False
    interpreter_language: LanguageCode | None = None


class WalkInOut(BaseModel):
    id: uuid.UUID
    number: int
    status: str
    language: str
    interpreter: bool
    interpreter_language: str | None
    queued_at: datetime


class DayOut(BaseModel):
    site_id: uuid.UUID
    day: date
    appointments: list[DayAppointmentOut]
    walk_ins: list[WalkInOut]
    # Slots free for walk-ins now: held back, released by no-shows, or never booked.
    walk_in_slots_free: int


class NoShowResult(BaseModel):
    released: int


class ApplicationStartOut(BaseModel):
    application: ApplicationOut
    # From the appointment: the language the resident booked in, and their interpreter need.
    language: str
    interpreter: bool
    interpreter_language: str | None
