"""The partner desk's counter journey in Debian's headless Chromium, with test_browser.py's checks
on every page (axe-core finds no serious or critical violation, no CSP report, a screenshot):
scan, redeem, the receipt (and its printout), the benefit shown as used, void after a
confirmation, a lookup by card number and date of birth, and the result clearing itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.redemption.helpers import make_cardholder
from tests.web import test_browser as shared
from tests.web.conftest import make_membership, make_partner
from tests.web.test_browser import Tab, _sign_in

browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
TODAY = NOW.date().isoformat()


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def _scan(tab: Tab, qr: str) -> None:
    field = tab.page.get_by_label("Card code")
    field.focus()
    tab.page.keyboard.insert_text(qr)
    field.press("Enter")


def test_a_desk_redeems_sees_used_prints_the_receipt_voids_it_and_looks_up_by_number(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    partner_id = make_partner(runtime, "cultural", name="Walk Museum")
    make_membership(runtime, partner_id)
    holder = make_cardholder(runtime)
    page.goto("/partner")
    _sign_in(tab, make_staff("partner_desk", partner_id=partner_id))

    # Scan and redeem: the receipt, and the benefit now shown as used, with no button.
    _scan(tab, holder["qr"])
    expect(page.locator("#verdict").get_by_role("heading")).to_have_text("Card valid")
    page.get_by_role("button", name="Redeem Annual membership").click()
    receipt = page.locator("#receipt")
    expect(receipt.get_by_role("heading")).to_have_text("Redeemed: Annual membership")
    expect(receipt).to_contain_text("Walk Museum")
    expect(receipt.locator(".receipt-number")).to_have_text(re.compile(r"^R-[0-9A-Z]{10}$"))
    expect(receipt.locator(".receipt-time")).to_have_text("2026-06-15 10:00 EDT")
    expect(page.locator(".benefit-state")).to_contain_text(f"Used on {TODAY}; member until")
    expect(page.get_by_role("button", name="Redeem Annual membership")).to_have_count(0)
    tab.page_done("desk-receipt")

    # The printout is the receipt alone: no card code, no buttons, nothing about the holder.
    page.emulate_media(media="print")
    expect(receipt).to_be_visible()
    for elsewhere in ("h1", ".benefit-list", "#scan-form", "#lookup-form", "#clear-note"):
        expect(page.locator(elsewhere)).to_be_hidden()
    assert not receipt.get_by_role("button", name="Void this redemption").is_visible()
    printed = receipt.inner_text()
    assert "Zephyrine" not in printed and holder["card_number"] not in printed
    page.emulate_media(media="screen")
    expect(receipt.get_by_role("button", name="Print the receipt")).to_be_visible()

    # Void, after a confirmation that asks for the reason.
    receipt.get_by_role("button", name="Void this redemption").click()
    confirm = page.locator("#void-confirm")
    expect(confirm.get_by_role("heading")).to_contain_text("Void receipt R-")
    tab.page_done("desk-void-confirm")
    confirm.get_by_role("button", name="No, keep it").click()
    expect(page.locator("#void-confirm")).to_have_count(0)
    expect(page.locator("#receipt").get_by_role("heading")).to_have_text(
        "Redeemed: Annual membership")
    page.get_by_role("button", name="Void this redemption").click()
    page.get_by_label("Reason for voiding").select_option("entered_in_error")
    page.get_by_role("button", name="Yes, void it").click()
    expect(page.locator("#receipt").get_by_role("heading")).to_have_text(
        "Voided: Annual membership")
    expect(page.get_by_role("button", name="Void this redemption")).to_have_count(0)
    expect(page.locator(".benefit-state")).to_have_text(re.compile(r"^\s*Available\."))
    tab.page_done("desk-voided")

    # A damaged QR: the number as printed (with spaces) and the date of birth.
    page.goto("/partner")
    number = " ".join(holder["card_number"][i:i + 4] for i in range(0, 16, 4))
    page.get_by_label("Card number", exact=True).fill(number)
    page.get_by_label("Holder's date of birth").fill(holder["date_of_birth"])
    page.get_by_role("button", name="Check by number").click()
    expect(page.locator("#verdict").get_by_role("heading")).to_have_text("Card valid")
    page.get_by_role("button", name="Redeem Annual membership").click()
    expect(page.locator("#receipt").get_by_role("heading")).to_have_text(
        "Redeemed: Annual membership")
    expect(page.locator(".benefit-state")).to_contain_text(f"Used on {TODAY}")
    tab.page_done("desk-lookup-redeemed")
    tab.fits_a_phone()


def test_a_wrong_date_of_birth_gets_the_same_answer_as_an_unknown_number(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    partner_id = make_partner(runtime, "library", name="Lookup Library")
    holder = make_cardholder(runtime)
    page.goto("/partner")
    _sign_in(tab, make_staff("partner_desk", partner_id=partner_id))
    answers = []
    for number, born in ((holder["card_number"], "1990-01-01"), ("4" * 15 + "1", "1987-03-14")):
        page.get_by_label("Card number", exact=True).fill(number)
        page.get_by_label("Holder's date of birth").fill(born)
        page.get_by_role("button", name="Check by number").click()
        answers.append(page.get_by_role("alert").inner_text())
    assert answers[0] == answers[1] and "No valid card matches" in answers[0]
    tab.page_done("desk-lookup-refused")


def test_the_result_clears_itself_after_the_time_the_page_states(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    page.clock.install()
    partner_id = make_partner(runtime, "cultural", name="Clearing Museum")
    make_membership(runtime, partner_id)
    holder = make_cardholder(runtime)
    page.goto("/partner")
    _sign_in(tab, make_staff("partner_desk", partner_id=partner_id))
    expect(page.locator("#clear-note")).to_have_count(0)  # nothing to clear yet
    _scan(tab, holder["qr"])
    note = page.locator("#clear-note")
    expect(note).to_contain_text("clears from the screen after 2 minutes")
    tab.page_done("desk-clear-note")

    # Asked to keep it, the desk gets the full time again.
    page.clock.run_for("01:50")
    note.get_by_role("button", name="Keep it on screen longer").click()
    page.clock.run_for("01:50")
    expect(page.locator("#verdict")).to_be_visible()
    page.clock.run_for("00:11")
    expect(page).to_have_url(re.compile(r"/partner$"))
    expect(page.locator("#verdict")).to_have_count(0)
    expect(page.locator("input[name=qr][type=hidden]")).to_have_count(0)
    expect(page.get_by_role("heading", name="Scan a card")).to_be_visible()
