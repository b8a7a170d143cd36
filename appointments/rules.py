"""The booking rules (rules.yaml beside this file), read once."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class BookingRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_party_size: int = Field(ge=1, le=20)
    max_bookings_per_client_per_day: int = Field(ge=1)
    max_active_per_contact: int = Field(ge=1)
    booking_attempts_per_client_per_minute: int = Field(ge=1)
    code_lookups_per_client_per_hour: int = Field(ge=1)
    no_show_grace_minutes: int = Field(ge=0, le=240)
    purge_after_days: int = Field(ge=0, le=3650)
    reminder_hours_before: int = Field(ge=1, le=24 * 14)


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> BookingRules:
    text = path.read_text() if path else \
        resources.files("appointments").joinpath("rules.yaml").read_text()
    return BookingRules.model_validate(yaml.safe_load(text))
