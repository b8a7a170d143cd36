"""Public booking in Chromium (Playwright) against the real app under uvicorn: book, move and
cancel in English; book in Spanish and in Arabic (right to left). Every page passes axe-core
(no serious or critical violations) and raises no Content-Security-Policy report."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from cityid.clock import Clock, FixedClock
from tests.appointments.helpers import RELEASE, Headers, make_site
from tests.web import test_browser as shared
from tests.web.test_browser import Tab

# The browser, the server and the tab of the other browser tests, shared as fixtures.
browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab


@pytest.fixture
def clock() -> Clock:
    return FixedClock(RELEASE)


@pytest.fixture
def site(client: TestClient, auth_header: Callable[[str], Headers]) -> dict[str, str]:
    return make_site(client, auth_header("admin"), through="2026-12-11")


def _book(tab: Tab, site_name: str, lang: str, *, book_label: str, first_name: str,
          name: str) -> str:
    page = tab.page
    page.goto(f"/appointments?lang={lang}")
    tab.page_done(f"appointments-sites-{lang}")
    page.get_by_role("link", name=site_name).click()
    page.locator("input[name=slot_id]").first.check()
    page.get_by_label(first_name, exact=True).fill(name)
    tab.page_done(f"appointments-book-{lang}")
    page.get_by_role("button", name=book_label).click()
    code = page.locator(".booking-code").inner_text().strip()
    assert len(code) == 13
    return code


def test_a_resident_books_moves_and_cancels_in_english(tab: Tab, site: dict[str, str]) -> None:
    page = tab.page
    code = _book(tab, site["name"], "en", book_label="Book this time", first_name="First name",
                 name="Amara")
    expect(page.get_by_role("heading", name="Your appointment is booked")).to_be_visible()
    expect(page.get_by_role("heading", name="Documents to bring")).to_be_visible()
    tab.page_done("appointments-confirmation-en")
    first_time = page.locator("time").inner_text()

    page.get_by_role("link", name="Change or cancel an appointment").click()
    page.get_by_label("Booking code").fill(code.lower())
    page.get_by_role("button", name="Find my appointment").click()
    tab.page_done("appointments-manage-en")
    page.locator("input[name=slot_id]").nth(3).check()
    page.get_by_role("button", name="Move my appointment").click()
    expect(page.get_by_role("heading", name="Your appointment has moved")).to_be_visible()
    assert page.locator("time").inner_text() != first_time

    page.goto("/appointments/manage?lang=en")
    page.get_by_label("Booking code").fill(code)
    page.get_by_role("button", name="Find my appointment").click()
    page.get_by_role("button", name="Cancel my appointment").click()
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    expect(page.locator(".appointment-status")).to_have_text("Cancelled")
    tab.page_done("appointments-cancelled-en")


def test_a_resident_books_in_spanish(tab: Tab, site: dict[str, str]) -> None:
    _book(tab, site["name"], "es", book_label="Reservar este horario", first_name="Nombre",
          name="Lucía")
    expect(tab.page.get_by_role("heading", name="Su cita está reservada")).to_be_visible()
    assert tab.page.locator("html").get_attribute("lang") == "es"
    tab.page_done("appointments-confirmation-es")


def test_a_resident_books_in_arabic_right_to_left(tab: Tab, site: dict[str, str]) -> None:
    page = tab.page
    _book(tab, site["name"], "ar", book_label="احجز هذا الوقت", first_name="الاسم الأول",
          name="ليلى")
    expect(page.get_by_role("heading", name="تم حجز موعدك")).to_be_visible()
    assert page.locator("html").get_attribute("dir") == "rtl"
    tab.page_done("appointments-confirmation-ar")
    tab.fits_a_phone()


def test_a_slot_taken_meanwhile_is_said_plainly_in_the_residents_language(
        tab: Tab, site: dict[str, str], client: TestClient) -> None:
    page = tab.page
    page.goto(f"/appointments?lang=es&site={site['id']}")
    chosen = page.locator("input[name=slot_id]").first
    slot_id = chosen.get_attribute("value")
    taken = client.post("/v1/appointments", json={"slot_id": slot_id, "first_name": "Otra"})
    assert taken.status_code == 201
    chosen.check()
    page.get_by_label("Nombre", exact=True).fill("Lucía")
    page.get_by_role("button", name="Reservar este horario").click()
    expect(page.get_by_role("alert")).to_contain_text("Otra persona acaba de reservar")
    tab.page_done("appointments-taken-es")
