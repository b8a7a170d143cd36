"""The day's lists through the API: by state, site and age, with no personal data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityid.clock import Clock, FixedClock
from tests.enrollment.test_workflow import create, ready_for_decision
from tests.factories import KNOWN_LAST, KNOWN_STREET
from tests.fulfilment.test_fulfilment_api import (
    START,
    approved_card,
    print_batch,
    step,
)

Headers = dict[str, str]


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


def listed(client: TestClient, headers: Headers, name: str, **params: Any) -> Any:
    response = client.get(f"/v1/worklists/{name}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.second_pair_of_eyes
def test_each_list_holds_its_applications_and_cards_and_how_long_they_waited(
        client: TestClient, auth_header: Callable[[str], Headers], clock: Clock) -> None:
    assert isinstance(clock, FixedClock)
    clerk, other, supervisor = (auth_header("clerk"), auth_header("clerk"),
                                auth_header("supervisor"))
    draft = create(client, clerk, first_name="Drafty")["reference"]
    in_review = ready_for_decision(client, clerk, today=START.date(), first_name="Reviewa")
    _, card_id = approved_card(client, clerk, supervisor)
    clock.advance(timedelta(hours=5))

    drafts = listed(client, clerk, "drafts")
    assert [i["reference"] for i in drafts["items"]] == [draft]
    assert drafts["items"][0]["waited_hours"] == 5
    assert [i["reference"] for i in listed(client, clerk, "in_review")["items"]] == [in_review]
    # The intake clerk can't be the second pair of eyes on their own application.
    assert listed(client, clerk, "second_approval")["items"] == []
    assert [i["reference"] for i in listed(client, other, "second_approval")["items"]] == \
        [in_review]
    to_print = listed(client, clerk, "cards_to_print", site="main")["items"]
    assert [(i["card_id"], i["site_code"], i["state"]) for i in to_print] == [
        (card_id, "main", "to_print")]
    assert listed(client, clerk, "cards_to_print", site="bronx_hub")["items"] == []
    assert listed(client, clerk, "drafts", min_age_hours=6)["items"] == []

    print_batch(client, clerk)
    step(client, clerk, card_id, "ready")
    waiting = listed(client, clerk, "waiting_for_pickup")["items"]
    assert [i["card_id"] for i in waiting] == [card_id] and waiting[0]["waited_hours"] == 0
    assert listed(client, clerk, "cards_to_print")["items"] == []

    # References and states only: nothing about the person.
    text = str([listed(client, supervisor, w) for w in ("drafts", "in_review",
                                                         "waiting_for_pickup")])
    for personal in (KNOWN_LAST, KNOWN_STREET, "Drafty", "1987"):
        assert personal not in text


def test_duplicates_are_listed_for_supervisors_only(client: TestClient,
                                                    auth_header: Callable[[str], Headers]
                                                    ) -> None:
    clerk, supervisor = auth_header("clerk"), auth_header("supervisor")
    create(client, clerk)
    second = create(client, clerk)["reference"]
    items = listed(client, supervisor, "duplicates")["items"]
    assert [i["reference"] for i in items] == [second] and items[0]["duplicate_id"]
    refused = client.get("/v1/worklists/duplicates", headers=clerk)
    assert refused.status_code == 403
    assert client.get("/v1/worklists/no_such_list", headers=clerk).status_code == 422
