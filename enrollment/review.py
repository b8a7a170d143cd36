"""The second pair of eyes: a rule in data (review.yaml) that the approver is not the clerk who
took the application in. A clerk who could take and approve their own application could issue a
card to anyone, alone."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from enrollment.errors import SecondPairOfEyesRequired
from privacy.audit import Actor


@dataclass(frozen=True)
class ReviewRules:
    second_pair_of_eyes: bool
    may_approve_own: frozenset[str]


def parse(data: dict[str, Any]) -> ReviewRules:
    rule = data["second_pair_of_eyes"]
    return ReviewRules(second_pair_of_eyes=bool(rule["required"]),
                       may_approve_own=frozenset(rule.get("may_approve_own", [])))


@lru_cache(maxsize=1)
def review_rules() -> ReviewRules:
    return parse(yaml.safe_load(resources.files("enrollment").joinpath("review.yaml")
                                .read_text()))


def check_approver(*, intake_by: str, actor: Actor, rules: ReviewRules | None = None) -> None:
    rules = rules or review_rules()
    if not rules.second_pair_of_eyes or actor.id != intake_by:
        return
    if actor.role in rules.may_approve_own:
        return
    raise SecondPairOfEyesRequired()
