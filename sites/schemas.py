from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
HourText = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Hours = dict[str, list[Annotated[list[HourText], Field(min_length=2, max_length=2)]]]


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=120)
    address: str = Field(min_length=4, max_length=200)
    time_zone: str = Field(min_length=3, max_length=64, examples=["America/New_York"])
    hours: Hours = Field(examples=[{"monday": [["09:00", "17:00"]]}])
    desks: int = Field(ge=1, le=100)
    slot_minutes: int = Field(ge=5, le=240, default=20)
    walk_in_percent: int = Field(ge=0, le=100, default=0)
    accessibility: list[Code] = Field(default_factory=list, max_length=20)
    languages: list[LanguageCode] = Field(default_factory=list, max_length=30)
    opens_on: date | None = None
    closes_on: date | None = None


class SiteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=120)
    address: str | None = Field(default=None, min_length=4, max_length=200)
    hours: Hours | None = None
    desks: int | None = Field(default=None, ge=1, le=100)
    walk_in_percent: int | None = Field(default=None, ge=0, le=100)
    accessibility: list[Code] | None = Field(default=None, max_length=20)
    languages: list[LanguageCode] | None = Field(default=None, max_length=30)
    active: bool | None = None


class SiteOut(BaseModel):
    id: uuid.UUID
    name: str
    address: str
    time_zone: str
    hours: Hours
    desks: int
    slot_minutes: int
    walk_in_percent: int
    # Appointments an hour the site can take: desks times slots per hour.
    capacity_per_hour: float
    accessibility: list[str]
    languages: list[str]
    opens_on: date | None
    closes_on: date | None
    active: bool
    closures: list[ClosureOut] = Field(default_factory=list)


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    reason: Code


class ClosureOut(BaseModel):
    day: date
    reason: str


class ClosureResult(BaseModel):
    day: date
    reason: str
    free_slots_removed: int
    # Booked slots on a closed day stay booked: the site tells those residents itself.
    booked_slots_kept: int


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    through: date | None = None


class GenerateOut(BaseModel):
    created: int
    through: date


class StaffSiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: uuid.UUID


class StaffSitesOut(BaseModel):
    site_id: uuid.UUID
    staff_ids: list[uuid.UUID]


class SlotOut(BaseModel):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    local_start: str  # wall-clock time at the site, e.g. "2026-12-07T09:20:00-05:00"
    local_day: date


SiteOut.model_rebuild()
