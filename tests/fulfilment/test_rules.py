"""The fulfilment rules as data, without a database."""

from __future__ import annotations

import pytest

from fulfilment.states import FulfilmentState, Step, next_state, parse_rules, rules


def test_each_step_leads_from_its_sources_only() -> None:
    assert next_state("to_print", Step.PRINT) is FulfilmentState.PRINTED
    assert next_state("printed", Step.MAIL) is FulfilmentState.MAILED
    assert next_state("printed", Step.MAKE_READY) is FulfilmentState.READY_FOR_PICKUP
    assert next_state("mailed", Step.RETURN_UNDELIVERABLE) is FulfilmentState.READY_FOR_PICKUP
    assert next_state("ready_for_pickup", Step.PICK_UP) is FulfilmentState.PICKED_UP
    assert next_state("mailed", Step.REPORT_NOT_RECEIVED) is FulfilmentState.NOT_RECEIVED
    assert next_state("to_print", Step.MAIL) is None
    assert next_state("mailed", Step.PICK_UP) is None
    assert next_state("picked_up", Step.RETURN_UNDELIVERABLE) is None
    assert next_state("no_such_state", Step.MAIL) is None


def test_printing_and_pickup_need_an_active_card_and_mailing_a_mail_delivery() -> None:
    steps = rules().steps
    assert steps[Step.PRINT].active_card and steps[Step.PICK_UP].active_card
    assert steps[Step.MAIL].delivery == "mail"
    assert steps[Step.MAKE_READY].delivery is None


def test_rules_missing_a_step_are_refused_at_load() -> None:
    with pytest.raises(ValueError, match="lack the steps"):
        parse_rules({"steps": {"print": {"from": ["to_print"], "to": "printed"}},
                     "identity_checks": [], "default_site": "main"})
