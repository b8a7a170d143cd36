"""End to end in Chromium: a second clerk works the day's list and approves what another took
in, prints the card in a batch, mails it, takes it back undeliverable and hands it over at the
counter; the applicant sees each step. Every page passes axe-core (no serious or critical)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import i18n
from enrollment import service as enrollment
from tests.web import test_browser as shared
from tests.web.conftest import CLERK_ACTOR, new_application
from tests.web.test_browser import Tab, _check_status, _sign_in

browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab

pytestmark = pytest.mark.second_pair_of_eyes


def _row(tab: Tab, section: str, reference: str) -> Any:
    return tab.page.locator(f"#{section} tr", has_text=reference)


def test_a_card_goes_from_the_days_list_to_the_holders_hand(tab: Tab, make_staff: Any,
                                                            runtime: Runtime) -> None:
    page = tab.page
    reference = new_application(runtime, documents=True, photo=True)
    with unit_of_work(runtime.sessions) as session:
        for step in ("submit", "review"):
            enrollment.advance(session, desk=runtime.enrollment, actor=CLERK_ACTOR,
                               reference=reference, step=step)

    page.goto("/clerk")
    _sign_in(tab, make_staff("clerk"))
    page.get_by_role("link", name="Open the worklists").click()
    expect(_row(tab, "second_approval", reference)).to_be_visible()
    expect(page.locator("#second_approval")).not_to_contain_text("Zephyrine")  # no names
    tab.page_done("worklists-morning")

    _row(tab, "second_approval", reference).get_by_role("link", name=reference).click()
    page.get_by_role("button", name="Approve and issue the card").click()
    expect(page.locator("#application-status")).to_have_text("Card issued")

    page.goto("/clerk/worklists")
    expect(_row(tab, "cards_to_print", reference)).to_be_visible()
    page.get_by_role("button", name="Start a print batch").click()
    batch = page.locator("#batches .batch").first
    expect(batch).to_contain_text("1 card")
    pdf = page.request.get(batch.get_by_role("link").get_attribute("href") or "")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    tab.page_done("worklists-batch")
    batch.get_by_role("button", name="The batch came out of the printer").click()

    _row(tab, "cards_printed", reference).get_by_role("button", name="Mailed").click()
    expect(_row(tab, "cards_in_the_mail", reference)).to_be_visible()
    _row(tab, "cards_in_the_mail", reference).get_by_role(
        "button", name="Returned undeliverable").click()
    waiting = _row(tab, "waiting_for_pickup", reference)
    expect(waiting).to_be_visible()
    tab.page_done("worklists-pickup")

    hand_over = waiting.get_by_role("button", name="Hand the card over")
    hand_over.click()  # nothing chosen yet: the browser keeps the form
    expect(waiting).to_be_visible()
    waiting.get_by_label("Identity checked by").select_option("photo_matches_holder")
    waiting.get_by_label("I checked the holder in person").check()
    hand_over.click()
    expect(page.locator("#waiting_for_pickup")).to_contain_text("Nothing waiting")
    tab.page_done("worklists-evening")

    page.goto("/status?lang=es")
    _check_status(tab, reference)
    expect(page.locator(".status-label")).to_have_text(i18n.status_message("picked_up", "es")[0])
    tab.page_done("status-es-picked-up")
