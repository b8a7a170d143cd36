"""A card's lifecycle as a table: which actions a card in each status may take, for which reasons
and by whom, and the dates that bound replacement and renewal.

The table is data (``lifecycle.yaml`` beside this module), validated once when first used. The
functions here take plain values and decide; ``idcard.actions`` loads the card, applies what was
decided and records it, so a rule can be checked without a database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from cityid.roles import CardActor
from idcard.errors import (
    IllegalCardTransition,
    NotLatestCard,
    ReasonNeedsRole,
    RenewalWindowClosed,
    UnknownCardReason,
)
from idcard.states import STORED_STATUSES, CardStatus

LIFECYCLE_PATH = Path(__file__).with_name("lifecycle.yaml")

Action = Literal["revoke", "suspend", "unsuspend", "replace", "renew"]
ACTIONS: tuple[Action, ...] = ("revoke", "suspend", "unsuspend", "replace", "renew")
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{1,23}$")]


class LifecycleInvalid(ValueError):
    """The shipped lifecycle table does not hold together; the program does not start."""


def _positive_int(value: object) -> object:
    # YAML turns "yes" into True, and bool is an int in Python: neither is a number of days.
    if type(value) is not int or value <= 0:
        raise ValueError("must be a positive integer")
    return value


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ActionRule(_Model):
    starts_from: frozenset[CardStatus] = Field(alias="from", min_length=1)
    to: CardStatus
    audit: str = Field(pattern=r"^[a-z_]{1,32}$")
    refusal: str | None = None
    keeps_reason: bool = True
    successor: bool = False
    superseded_reason: ReasonCode | None = None
    reasons: dict[ReasonCode, tuple[CardActor, ...]] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ActionRule:
        stored = self.starts_from | {self.to}
        if not stored <= STORED_STATUSES:
            # A card is expired by its date, never by its row.
            raise ValueError("from and to name only stored statuses (active, suspended, "
                             "revoked)")
        if self.starts_from != STORED_STATUSES and self.refusal is None:
            raise ValueError("an action that some statuses cannot take needs a refusal")
        if self.refusal is not None:
            try:
                self.refusal.format(status=CardStatus.ACTIVE.value)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"refusal may name only {{status}}: {exc}") from exc
        if self.superseded_reason is not None and not self.successor:
            raise ValueError("superseded_reason applies only to a successor action")
        if any(not roles for roles in self.reasons.values()):
            raise ValueError("every reason needs at least one role")
        return self


class RenewalRule(_Model):
    opens_days_before_expiry: PositiveInt
    closes_months_after_expiry: PositiveInt


class Lifecycle(_Model):
    actions: dict[Action, ActionRule]
    renewal: RenewalRule
    final_revocations: frozenset[ReasonCode]

    @model_validator(mode="after")
    def _consistent(self) -> Lifecycle:
        missing = [a for a in ACTIONS if a not in self.actions]
        if missing:
            raise ValueError(f"actions: {', '.join(missing)} missing")
        unknown = self.final_revocations - self.actions["revoke"].reasons.keys()
        if unknown:
            raise ValueError(f"final_revocations: {', '.join(sorted(unknown))} "
                             "are not revocation reasons")
        return self

    def reasons(self, action: Action) -> dict[str, tuple[CardActor, ...]]:
        return self.actions[action].reasons

    def reasons_for(self, action: Action, role: str | None) -> list[str]:
        """The reason codes ``role`` may give for ``action``, in the table's order."""
        return [r for r, roles in self.reasons(action).items() if role in roles]

    def check_reason(self, action: Action, reason: str, role: str) -> None:
        allowed = self.reasons(action)
        if reason not in allowed:
            raise UnknownCardReason(f"Reasons for {action}: {', '.join(sorted(allowed))}.")
        if role not in allowed[reason]:
            raise ReasonNeedsRole(f"To {action} a card for '{reason}' needs the role "
                                  f"{' or '.join(allowed[reason])}.")

    def next_status(self, action: Action, status: CardStatus) -> CardStatus:
        rule = self.actions[action]
        if status not in rule.starts_from:
            assert rule.refusal is not None  # checked when the table was loaded
            raise IllegalCardTransition(rule.refusal.format(status=status.value))
        return rule.to

    def renewal_window(self, expires_on: date) -> tuple[date, date]:
        return (expires_on - timedelta(days=self.renewal.opens_days_before_expiry),
                add_months(expires_on, self.renewal.closes_months_after_expiry))


@dataclass(frozen=True, slots=True)
class CardState:
    """What the lifecycle rules read of a card."""

    status: CardStatus
    status_reason: str | None
    issue_number: int
    expires_on: date


@dataclass(frozen=True, slots=True)
class Change:
    """What an action does to the card it starts from."""

    status: CardStatus
    reason: str | None
    audit: str

    def alters(self, card: CardState) -> bool:
        return self.status != card.status


def status_change(rules: Lifecycle, action: Action, card: CardState, reason: str) -> Change:
    """Revoke, suspend or unsuspend: the status the card moves to, and the reason it keeps."""
    rule = rules.actions[action]
    to = rules.next_status(action, card.status)
    return Change(status=to, reason=reason if rule.keeps_reason else None, audit=rule.audit)


def _successor_allowed(rules: Lifecycle, card: CardState, latest_issue: int) -> None:
    if latest_issue != card.issue_number:
        raise NotLatestCard()
    if card.status == CardStatus.REVOKED and card.status_reason in rules.final_revocations:
        raise IllegalCardTransition("A card revoked for fraud or cancelled cannot be replaced "
                                    "or renewed; the resident applies again.")


def _superseded(rules: Lifecycle, action: Action, card: CardState, reason: str) -> Change:
    rule = rules.actions[action]
    return Change(status=rules.next_status(action, card.status),
                  reason=rule.superseded_reason or reason, audit=rule.audit)


def replacement(rules: Lifecycle, card: CardState, *, reason: str, latest_issue: int,
                today: date) -> Change:
    """A replacement keeps the expiry, so an expired card is renewed instead."""
    _successor_allowed(rules, card, latest_issue)
    if card.expires_on < today:
        raise IllegalCardTransition("An expired card is renewed, not replaced.")
    return _superseded(rules, "replace", card, reason)


def renewal(rules: Lifecycle, card: CardState, *, reason: str, latest_issue: int,
            today: date) -> Change:
    _successor_allowed(rules, card, latest_issue)
    opens, closes = rules.renewal_window(card.expires_on)
    if not opens <= today <= closes:
        raise RenewalWindowClosed(f"This card can be renewed from {opens} to {closes}.")
    return _superseded(rules, "renew", card, reason)


def effective_status(status: CardStatus, expires_on: date, today: date) -> CardStatus:
    """What a card is today: revoked stays revoked; otherwise past its date it is expired."""
    if status == CardStatus.REVOKED:
        return CardStatus.REVOKED
    if expires_on < today:
        return CardStatus.EXPIRED
    return CardStatus.SUSPENDED if status == CardStatus.SUSPENDED else CardStatus.ACTIVE


# --- dates ----------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def end_of_day(day: date) -> datetime:
    """A card is good through its expiry date; the credential's exp is the following midnight."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


# --- loading --------------------------------------------------------------------------------


def load_lifecycle(path: Path = LIFECYCLE_PATH) -> Lifecycle:
    try:
        data = yaml.safe_load(path.read_text())
        return Lifecycle.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise LifecycleInvalid(f"{path.name}: {exc}") from exc


@lru_cache(maxsize=1)
def lifecycle() -> Lifecycle:
    """The shipped table, read and validated once per process."""
    return load_lifecycle()
