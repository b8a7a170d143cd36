"""The fulfilment states and steps, and their rules read once from rules.yaml."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


class FulfilmentState(enum.StrEnum):
    # "to_print" is the value cards.fulfilment had before this package: kept so old rows read.
    TO_PRINT = "to_print"
    PRINTED = "printed"
    MAILED = "mailed"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    NOT_RECEIVED = "not_received"


class Step(enum.StrEnum):
    PRINT = "print"
    MAIL = "mail"
    MAKE_READY = "make_ready"
    RETURN_UNDELIVERABLE = "return_undeliverable"
    PICK_UP = "pick_up"
    REPORT_NOT_RECEIVED = "report_not_received"


# Where a card waits for its holder to come to the counter.
WAITING_FOR_PICKUP = frozenset({FulfilmentState.READY_FOR_PICKUP})
# Where the card is out of the program's hands for good.
FINISHED = frozenset({FulfilmentState.PICKED_UP, FulfilmentState.NOT_RECEIVED})


@dataclass(frozen=True)
class StepRule:
    sources: frozenset[FulfilmentState]
    target: FulfilmentState
    active_card: bool
    delivery: str | None


@dataclass(frozen=True)
class Rules:
    steps: dict[Step, StepRule]
    identity_checks: frozenset[str]
    default_site: str


def parse_rules(data: dict[str, Any]) -> Rules:
    steps = {}
    for name, rule in data["steps"].items():
        steps[Step(name)] = StepRule(
            sources=frozenset(FulfilmentState(s) for s in rule["from"]),
            target=FulfilmentState(rule["to"]), active_card=bool(rule.get("active_card")),
            delivery=rule.get("delivery"))
    if missing := set(Step) - steps.keys():
        raise ValueError(f"fulfilment rules lack the steps {sorted(missing)}")
    return Rules(steps=steps, identity_checks=frozenset(data["identity_checks"]),
                 default_site=str(data["default_site"]))


@lru_cache(maxsize=1)
def rules() -> Rules:
    text = resources.files("fulfilment").joinpath("rules.yaml").read_text()
    return parse_rules(yaml.safe_load(text))


def next_state(state: str, step: Step, *, rule_set: Rules | None = None) -> FulfilmentState | None:
    """Where ``step`` leads from ``state``, or None when it can't be taken from there."""
    rule = (rule_set or rules()).steps[step]
    try:
        current = FulfilmentState(state)
    except ValueError:
        return None
    return rule.target if current in rule.sources else None
