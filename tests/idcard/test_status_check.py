"""The public status check after a card was issued answers with the card's current state, in
each of the program's languages, and with the application's status while the card is active."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import i18n
from idcard import actions as card_actions
from tests.factories import KNOWN_DOB
from tests.web.conftest import SUPERVISOR_ACTOR, issued_application


def _check(client: TestClient, reference: str, lang: str) -> dict[str, str]:
    response = client.post("/v1/status", json={"reference": reference, "lang": lang,
                                                "date_of_birth": KNOWN_DOB.isoformat()})
    assert response.status_code == 200, response.text
    answer: dict[str, str] = response.json()
    return answer


def test_an_active_card_tells_where_it_is_on_its_way(client: TestClient,
                                                    runtime: Runtime) -> None:
    # An active card's fulfilment state (fulfilment/status_check.py) says more than "made".
    reference, _ = issued_application(runtime)
    answer = _check(client, reference, "en")
    assert answer["status"] == "to_print"
    assert answer["label"] == i18n.fulfilment_message("to_print", "en")[0]


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_a_revoked_card_is_reported_as_revoked_in_each_language(
        client: TestClient, runtime: Runtime, lang: str) -> None:
    reference, card_id = issued_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        card_actions.revoke(session, desk=runtime.cards, actor=SUPERVISOR_ACTOR,
                            card_id=uuid.UUID(card_id), reason="lost")
    answer = _check(client, reference, lang)
    label, next_step = i18n.card_message("revoked", lang)
    assert (answer["status"], answer["label"], answer["next_step"]) == (
        "card_revoked", label, next_step)
    assert label != i18n.status_message("card_issued", lang)[0]


def test_a_replacement_card_makes_the_status_active_again(client: TestClient,
                                                          runtime: Runtime) -> None:
    reference, card_id = issued_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        card_actions.replace(session, desk=runtime.cards, actor=SUPERVISOR_ACTOR,
                             card_id=uuid.UUID(card_id), reason="lost")
    assert _check(client, reference, "es")["status"] == "to_print"


def test_every_catalog_words_every_card_state() -> None:
    for lang in i18n.SUPPORTED:
        labels = {i18n.card_message(state, lang)[0] for state in i18n.CARD_STATES}
        assert len(labels) == len(i18n.CARD_STATES), lang
