"""The partner desk and the admin's partner pages in Debian's headless Chromium, with the same
browser, live server and checks (axe-core, no CSP reports, screenshots) as test_browser.py: a
desk scans a card with a keyboard-mode scanner, redeems a membership once and then sees it used;
a revoked card shows red; the admin's partner, benefit and report pages pass axe-core."""

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
from tests.web.conftest import fill_report, make_membership, make_partner, revoke_card
from tests.web.test_browser import SCREENSHOTS, Tab, _sign_in

# The same browser, axe-core, live server and tab as test_browser.py.
browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def _scan(tab: Tab, qr: str) -> None:
    """As a USB or Bluetooth scanner in keyboard mode does: type the code, then Enter."""
    field = tab.page.get_by_label("Card code")
    field.focus()
    tab.page.keyboard.insert_text(qr)  # a scanner types far faster than a person
    field.press("Enter")


def test_a_desk_scans_a_card_redeems_once_and_is_refused_the_second_time(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    partner_id = make_partner(runtime, "cultural", name="Harbor Museum")
    make_membership(runtime, partner_id)
    holder = make_cardholder(runtime)
    username = make_staff("partner_desk", partner_id=partner_id)

    response = page.goto("/partner")
    assert response is not None and response.status == 401
    _sign_in(tab, username)
    expect(page.get_by_role("heading", name="Check a card")).to_be_visible()
    expect(page.get_by_label("Card code")).to_be_focused()  # ready for the scanner
    tab.page_done("partner-desk")

    _scan(tab, holder["qr"])
    verdict = page.locator("#verdict")
    expect(verdict).to_have_class("verdict verdict-valid")
    expect(verdict.get_by_role("heading")).to_have_text("Card valid")
    expect(verdict).not_to_contain_text("Zephyrine")  # a museum never sees the name
    expect(page.get_by_label("Card code")).to_be_focused()  # the next card can be scanned
    tab.page_done("partner-result-green")

    page.get_by_role("button", name="Redeem Annual membership").click()
    receipt = page.locator("#receipt")
    expect(receipt).to_contain_text("Redeemed: Annual membership")
    expect(receipt).to_contain_text("Member until")
    expect(receipt.locator(".receipt-number")).to_have_text(
        re.compile(r"^R-[0-9A-Z]{10}$"))
    tab.page_done("partner-receipt")

    _scan(tab, holder["qr"])
    expect(page.locator(".benefit-state")).to_contain_text(
        f"Used on {NOW.date().isoformat()}")
    # Used: no button to press for the ledger to refuse (test_partner_pages posts one anyway).
    expect(page.get_by_role("button", name="Redeem Annual membership")).to_have_count(0)
    tab.page_done("partner-already-redeemed")
    tab.fits_a_phone()


def test_a_revoked_card_shows_red_with_the_reason(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    partner_id = make_partner(runtime, "library", name="Central Library")
    holder = make_cardholder(runtime)
    revoke_card(runtime, holder["id"])
    page.goto("/partner")
    _sign_in(tab, make_staff("partner_desk", partner_id=partner_id))
    _scan(tab, holder["qr"])
    verdict = page.locator("#verdict")
    expect(verdict).to_have_class("verdict verdict-invalid")
    expect(verdict.get_by_role("heading")).to_have_text("Card revoked")
    expect(page.get_by_role("button", name="Redeem")).to_have_count(0)
    tab.page_done("partner-result-red")


def test_the_partner_admin_and_program_admin_pages_pass_axe(
        tab: Tab, runtime: Runtime, clock: Clock, make_staff: Callable[..., str]) -> None:
    page = tab.page
    fill_report(runtime, clock)
    partner_id = make_partner(runtime, "cultural", name="Axe Museum")
    make_membership(runtime, partner_id)

    page.goto("/partner/accounts")
    _sign_in(tab, make_staff("partner_admin", partner_id=partner_id))
    expect(page.get_by_role("heading", name="Desk accounts")).to_be_visible()
    tab.page_done("partner-accounts")
    page.get_by_role("button", name="Sign out").click()

    page.goto("/admin/partners")
    _sign_in(tab, make_staff("admin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners")
    tab.page_done("admin-partners")
    page.get_by_role("link", name="Axe Museum").click()
    expect(page.get_by_role("heading", name="Axe Museum")).to_be_visible()
    tab.page_done("admin-partner")
    page.get_by_role("button", name="Create a key").click()
    expect(page.get_by_role("heading", name="Copy this key now")).to_be_visible()
    tab.page_done("admin-new-key")
    page.goto("/admin/benefits")
    tab.page_done("admin-benefits")
    page.goto("/admin/reports")
    chart = page.locator("#redemption-chart")
    expect(chart).to_be_visible()
    expect(page.locator("#report-table")).to_contain_text("fewer than 10")
    tab.page_done("admin-reports")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=SCREENSHOTS / "admin-report-chart.png")
    tab.fits_a_phone()
