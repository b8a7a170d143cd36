"""The second pair of eyes: the clerk who took an application in does not approve it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from enrollment import review
from enrollment.errors import SecondPairOfEyesRequired
from privacy.audit import Actor
from tests.enrollment.test_workflow import decide, ready_for_decision

Headers = dict[str, str]
pytestmark = pytest.mark.second_pair_of_eyes


def test_the_shipped_rule_is_on_and_lets_a_supervisor_approve_their_own() -> None:
    rules = review.review_rules()
    assert rules.second_pair_of_eyes is True
    assert rules.may_approve_own == frozenset({"supervisor"})


def test_the_rule_without_a_database() -> None:
    on = review.ReviewRules(second_pair_of_eyes=True, may_approve_own=frozenset({"supervisor"}))
    off = review.ReviewRules(second_pair_of_eyes=False, may_approve_own=frozenset())
    with pytest.raises(SecondPairOfEyesRequired):
        review.check_approver(intake_by="a", actor=Actor("a", "clerk"), rules=on)
    review.check_approver(intake_by="a", actor=Actor("b", "clerk"), rules=on)
    review.check_approver(intake_by="a", actor=Actor("a", "supervisor"), rules=on)
    review.check_approver(intake_by="a", actor=Actor("a", "clerk"), rules=off)


def test_the_intake_clerk_cannot_approve_their_own_application(
        client: TestClient, auth_header: Callable[[str], Headers]) -> None:
    clerk, second = auth_header("clerk"), auth_header("clerk")
    ref = ready_for_decision(client, clerk)
    refused = decide(client, clerk, ref, "approve", "rulebook_satisfied")
    assert refused.status_code == 403
    assert refused.json()["code"] == "second_pair_of_eyes_required"
    assert client.get(f"/v1/applications/{ref}", headers=clerk).json()["status"] == "in_review"
    approved = decide(client, second, ref, "approve", "rulebook_satisfied")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "card_issued"


def test_a_supervisor_approves_what_a_clerk_took_in_and_their_own(
        client: TestClient, auth_header: Callable[[str], Headers]) -> None:
    clerk, supervisor = auth_header("clerk"), auth_header("supervisor")
    taken_by_clerk = ready_for_decision(client, clerk)
    assert decide(client, supervisor, taken_by_clerk, "approve",
                  "rulebook_satisfied").status_code == 200
    own = ready_for_decision(client, supervisor, first_name="Ottilie")
    assert decide(client, supervisor, own, "approve", "rulebook_satisfied").status_code == 200


def test_the_intake_clerk_may_still_deny(client: TestClient,
                                         auth_header: Callable[[str], Headers]) -> None:
    clerk = auth_header("clerk")
    ref = ready_for_decision(client, clerk)
    assert decide(client, clerk, ref, "deny", "applicant_withdrew").status_code == 200
