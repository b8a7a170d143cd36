"""The holder's /me page in Debian's headless Chromium: ask for a code, read it from the real
local SMTP server, lock the card, change the e-mail (confirmed by a code sent to the new
address); in Arabic, right to left. Every page passes axe-core and fits a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from api.runtime import Runtime
from tests.holder.helpers import SmtpServer, deliver, make_holder, smtp_server, smtp_settings
from tests.web.test_browser import Tab, axe_source, base_url, browser, tab

__all__ = ["axe_source", "base_url", "browser", "smtp_server", "tab"]


@pytest.fixture
def settings_overrides(smtp_server: SmtpServer) -> dict[str, object]:
    return {**smtp_settings(smtp_server), "cookie_secure": False}


def test_a_holder_locks_a_lost_card_and_changes_the_email(
        tab: Tab, runtime: Runtime, smtp_server: SmtpServer) -> None:
    holder = make_holder(runtime, email_address="walk.old@mail.example")
    page = tab.page
    page.goto("/me")
    expect(page.get_by_role("heading", name="Your City ID card")).to_be_visible()
    tab.page_done("me-start")
    page.get_by_label("Card number").fill(holder["card_number"])
    year, month, day = holder["date_of_birth"].split("-")
    page.get_by_label("Month").fill(month)
    page.get_by_label("Day").fill(day)
    page.get_by_label("Year").fill(year)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("visit an enrollment centre")).to_be_visible()
    tab.page_done("me-code")

    assert deliver(runtime).sent == 1
    assert smtp_server.inbox.recipients == [["walk.old@mail.example"]]
    page.get_by_label("6-digit code").fill(smtp_server.inbox.last_code())
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".card-status")).to_have_text("Active")
    tab.page_done("me-card")
    tab.fits_a_phone()

    page.get_by_role("button", name="Lock my card").click()
    expect(page.locator(".card-status")).to_have_text("Locked")
    expect(page.get_by_role("button", name="Send me a new card")).to_be_visible()
    tab.page_done("me-locked")

    page.get_by_label("New e-mail address").fill("walk.new@mail.example")
    page.get_by_role("button", name="Send a code to confirm").first.click()
    expect(page.get_by_role("heading", name="Your City ID card")).to_be_visible()
    tab.page_done("me-confirm")
    assert deliver(runtime).sent == 1
    assert smtp_server.inbox.recipients[-1] == ["walk.new@mail.example"]
    page.get_by_label("6-digit code").fill(smtp_server.inbox.last_code())
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".contact-email")).to_have_text("w•••@mail.example")
    tab.page_done("me-email-changed")

    page.goto("/me?lang=ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".card-status")).to_have_text("مقفلة")
    tab.page_done("me-card-ar")
    tab.fits_a_phone()
