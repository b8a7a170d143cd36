"""In Chromium: a clerk opens a draft from the day's list, sees the details and the photo,
corrects the last name, withdraws a document record made in error, and prints the applicant's
receipt in Spanish and in Arabic (right to left). Every page passes axe-core (no serious or
critical violations); printed, the receipt is shown alone."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from api.runtime import Runtime
from api.web import receipt as receipt_page
from tests.factories import KNOWN_LAST
from tests.web import test_browser as shared
from tests.web.conftest import new_application
from tests.web.test_browser import Tab, _sign_in

browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab

CORRECTED_LAST = "Quillfeather-Abernethy"


def test_a_clerk_corrects_an_application_and_prints_the_receipt(tab: Tab, make_staff: Any,
                                                                 runtime: Runtime) -> None:
    page = tab.page
    reference = new_application(runtime, documents=True, photo=True)

    page.goto("/clerk")
    _sign_in(tab, make_staff("clerk"))
    page.get_by_role("link", name="Open the worklists").click()
    page.locator("#drafts tr", has_text=reference).get_by_role("link", name=reference).click()
    details = page.locator("#details")
    expect(details.locator("#details-name")).to_contain_text(KNOWN_LAST)
    expect(details.locator("#details-address")).to_contain_text("742 Evergreen Terrace")
    photo = page.locator("#application-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    tab.page_done("application-details")

    page.get_by_role("link", name="Correct the details").click()
    expect(page.get_by_role("heading", name="Correct the details")).to_be_visible()
    tab.page_done("application-edit")
    page.get_by_label("Last name", exact=True).fill(CORRECTED_LAST)
    page.get_by_role("button", name="Save the corrections").click()
    expect(page.locator("#details-name")).to_contain_text(CORRECTED_LAST)
    expect(page.locator("#tally-status")).to_contain_text("The documents satisfy the rulebook.")

    withdraw = page.locator(".withdraw-form").first
    withdraw.get_by_label("Withdraw, because").select_option("wrong_document_kind")
    withdraw.get_by_role("button").click()
    expect(page.locator("#tally-status")).to_contain_text("3 more identity points")
    expect(page.locator(".withdraw-form")).to_have_count(1)
    tab.page_done("application-after-withdrawal")

    page.get_by_role("link", name="Print the applicant's receipt").click()
    es = receipt_page.words("es")  # the applicant's first preferred language
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#receipt-reference")).to_have_text(reference)
    expect(page.locator("#receipt-missing")).to_contain_text(
        es["missing_identity_points"].replace("{points}", "3"))
    expect(page.get_by_role("button", name=es["print"])).to_be_visible()
    tab.page_done("receipt-es")

    page.get_by_role("link", name="العربية").click()
    ar = receipt_page.words("ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name=ar["heading"])).to_be_visible()
    expect(page.locator("#receipt-missing")).to_contain_text(
        ar["missing_identity_points"].replace("{points}", "3"))
    tab.page_done("receipt-ar")
    tab.fits_a_phone()

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".receipt-tools")).to_be_hidden()
    expect(page.locator("#applicant-receipt")).to_be_visible()
    tab.screenshot("receipt-ar-print")
