"""In Chromium: a clerk finds a lost reference from the applicant's name and date of birth, opens
the application, and records the replacement card's fee (a wrong amount refused, then paid);
an administrator reads the fee totals. Every page passes axe-core (no serious or critical)."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from api.runtime import Runtime
from cityid.db import unit_of_work
from idcard import actions as card_actions
from tests.factories import KNOWN_DOB, KNOWN_FIRST, KNOWN_LAST
from tests.web import test_browser as shared
from tests.web.conftest import CLERK_ACTOR, issued_application
from tests.web.test_browser import Tab, _sign_in

browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab


def test_a_clerk_finds_a_lost_reference_and_records_the_replacement_fee(
        tab: Tab, make_staff: Any, runtime: Runtime) -> None:
    page = tab.page
    reference, card_id = issued_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        card_actions.replace(session, desk=runtime.cards, actor=CLERK_ACTOR,
                             card_id=uuid.UUID(card_id), reason="lost")

    page.goto("/clerk")
    _sign_in(tab, make_staff("clerk"))
    page.get_by_role("link", name="Find a reference").click()
    tab.page_done("lookup-empty")
    page.get_by_label("First name").fill(KNOWN_FIRST.lower())
    page.get_by_label("Last name").fill(KNOWN_LAST)
    page.get_by_label("Date of birth").fill((KNOWN_DOB.replace(day=KNOWN_DOB.day + 1))
                                            .isoformat())
    page.get_by_role("button", name="Find the reference").click()
    expect(page.locator("#nothing-found")).to_be_visible()
    tab.page_done("lookup-nothing")

    page.get_by_label("First name").fill(KNOWN_FIRST.lower())
    page.get_by_label("Last name").fill(KNOWN_LAST)
    page.get_by_label("Date of birth").fill(KNOWN_DOB.isoformat())
    page.get_by_role("button", name="Find the reference").click()
    found = page.locator("#found .found-reference")
    expect(found).to_have_text([reference])
    assert reference not in page.url  # the answer is on the page, never in the address
    tab.page_done("lookup-found")

    found.click()
    page.get_by_role("link", name="Fee for issue 2: record paid or waived").click()
    expect(page.locator("#fee-due")).to_have_text("10.00 USD")
    expect(page.locator("#fee-status")).to_have_text("Due")
    tab.page_done("fee-due")

    waive = page.get_by_role("button", name="Waive the fee")
    waive.click()  # no reason chosen: the browser keeps the form, nothing is recorded
    expect(page.locator("#fee-status")).to_have_text("Due")
    page.get_by_label("Amount received").fill("5.00")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator("#error-summary")).to_contain_text("in full")
    tab.page_done("fee-wrong-amount")
    page.get_by_label("Amount received").fill("10.00")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator("#fee-status")).to_have_text("Paid")
    expect(page.locator("#fee-paid")).to_have_text("10.00 USD")
    expect(page.get_by_role("button", name="Waive the fee")).to_have_count(0)
    tab.page_done("fee-paid")


def test_an_administrator_reads_the_fee_totals(tab: Tab, make_staff: Any,
                                               runtime: Runtime) -> None:
    issued_application(runtime)
    page = tab.page
    page.goto("/admin")
    _sign_in(tab, make_staff("admin"))
    page.get_by_role("link", name="Fees and waivers").click()
    row = page.locator("#fee-totals tbody tr", has_text="New card")
    expect(row).to_contain_text("withheld")  # one card: under k
    tab.page_done("admin-fees")
