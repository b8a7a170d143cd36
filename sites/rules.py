"""The sites' rules (rules.yaml beside this file), read once."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ReleaseRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weekday: Weekday
    time: time
    weeks_ahead: int = Field(ge=0, le=52)


class SiteRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    release: ReleaseRule
    generate_weeks: int = Field(ge=1, le=52)
    accessibility: tuple[str, ...]
    closure_reasons: tuple[str, ...]


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> SiteRules:
    text = path.read_text() if path else \
        resources.files("sites").joinpath("rules.yaml").read_text()
    return SiteRules.model_validate(yaml.safe_load(text))
