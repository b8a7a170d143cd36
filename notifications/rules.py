"""The notification rules (rules.yaml), read once."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field


class KindRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    optional: bool
    default_opt_in: bool
    lifetime_minutes: int = Field(ge=1)
    params: tuple[str, ...]

    @property
    def lifetime(self) -> timedelta:
        return timedelta(minutes=self.lifetime_minutes)


class NotificationRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: dict[str, KindRule]
    backoff_seconds: tuple[int, ...] = Field(min_length=1)
    renewal_notice_days_before_expiry: int = Field(ge=1)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed attempts."""
        steps = self.backoff_seconds
        return timedelta(seconds=steps[min(attempts, len(steps)) - 1])

    @property
    def optional_kinds(self) -> tuple[str, ...]:
        return tuple(k for k, rule in self.kinds.items() if rule.optional)


@lru_cache(maxsize=1)
def rules() -> NotificationRules:
    text = resources.files("notifications").joinpath("rules.yaml").read_text()
    return NotificationRules.model_validate(yaml.safe_load(text))
