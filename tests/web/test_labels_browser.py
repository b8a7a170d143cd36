"""Labels that say what they mean, in Debian's headless Chromium with test_browser.py's checks:
the State and ZIP fields' limits and keypad, the application header's delivery method apart from
its state, a revoked card shown as revoked to the clerk and (in the applicant's language) on the
status page, role names on the staff page, a way home from the 403 page, and number inputs
styled like the fields beside them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment import i18n
from idcard import actions as card_actions
from privacy.audit import Actor
from tests.web import test_browser as shared
from tests.web.conftest import (
    issued_application,
    make_partner,
    new_application,
    revoke_card,
)
from tests.web.test_browser import Tab, _check_status, _sign_in

browser, axe_source, base_url, tab = shared.browser, shared.axe_source, shared.base_url, shared.tab

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
SUPERVISOR = Actor("web-test-supervisor", "supervisor")  # suspends and unsuspends


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def test_state_and_zip_limit_their_length_and_zip_brings_a_numeric_keypad(
        tab: Tab, make_staff: Callable[..., str]) -> None:
    page = tab.page
    page.goto("/clerk/applications/new")
    _sign_in(tab, make_staff("clerk"))
    state, zip_code = page.get_by_label("State (2 letters)"), page.get_by_label("ZIP code",
                                                                                 exact=True)
    assert state.evaluate("field => field.maxLength") == 2
    assert zip_code.evaluate("field => field.maxLength") == 10
    expect(zip_code).to_have_attribute("inputmode", "numeric")
    state.fill("NYC")  # a browser stops typing at the limit
    expect(state).to_have_value("NY")
    tab.page_done("clerk-new-limits")


def test_the_application_header_names_the_delivery_method_apart_from_the_state(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    reference = new_application(runtime)
    page.goto(f"/clerk/applications/{reference}")
    _sign_in(tab, make_staff("clerk"))
    head = page.locator(".page-head .meta")
    expect(head).to_contain_text("Application Draft")
    expect(page.locator("#delivery-method")).to_have_text("By mail")
    expect(head).not_to_contain_text("Card mailed")
    expect(page.locator("#card-state")).to_have_count(0)  # no card yet
    tab.page_done("clerk-draft-header")


def test_after_a_revoke_the_header_and_the_status_page_say_the_card_is_revoked(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    reference, card_id = issued_application(runtime)
    page.goto(f"/clerk/applications/{reference}")
    _sign_in(tab, make_staff("clerk"))
    expect(page.locator("#card-state")).to_have_text("Active")
    revoke_card(runtime, card_id)
    page.reload()
    expect(page.locator("#card-state")).to_have_text("Revoked (Stolen)")
    expect(page.locator("#application-status")).to_have_text("Card issued")
    tab.page_done("clerk-revoked-header")
    page.get_by_role("button", name="Sign out").click()

    page.goto("/status?lang=es")
    _check_status(tab, reference)
    label, next_step = i18n.card_message("revoked", "es")
    expect(page.locator(".status-label")).to_have_text(label)
    expect(page.locator(".next-step")).to_have_text(next_step)
    assert label != i18n.status_message("card_issued", "es")[0]
    tab.page_done("status-es-revoked")


def test_the_staff_page_names_each_role(tab: Tab, runtime: Runtime,
                                        make_staff: Callable[..., str]) -> None:
    page = tab.page
    make_staff("partner_desk", partner_id=make_partner(runtime, "library"))
    make_staff("supervisor")
    page.goto("/admin/staff")
    _sign_in(tab, make_staff("admin"))
    roles = page.locator("tbody td:nth-child(2)").all_inner_texts()
    assert {"Partner desk", "Supervisor", "Administrator"} <= set(roles), roles
    assert not [r for r in roles if "_" in r or r.islower()], roles
    expect(page.get_by_label("Role").locator("option[value=clerk]")).to_have_text(
        "Enrollment clerk")
    tab.page_done("admin-staff-roles")


@pytest.mark.parametrize(("role", "home", "heading"), [("clerk", "/clerk", "Enrollment desk"),
                                                       ("auditor", "/admin", None)])
def test_a_forbidden_page_links_back_to_the_signed_in_users_home(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str], role: str, home: str,
        heading: str | None) -> None:
    page = tab.page
    page.goto("/signin")
    _sign_in(tab, make_staff(role))
    response = page.goto("/admin/staff")
    assert response is not None and response.status == 403
    back = page.get_by_role("main").get_by_role("link", name="Back to the start page")
    expect(back).to_have_attribute("href", home)
    tab.page_done(f"forbidden-{role}")
    back.click()
    expect(page).to_have_url(tab.page.url.split(home)[0] + home)
    if heading:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_number_inputs_on_admin_pages_look_like_the_fields_beside_them(
        tab: Tab, runtime: Runtime, make_staff: Callable[..., str]) -> None:
    page = tab.page
    make_partner(runtime, name=f"Styled {uuid.uuid4().hex[:4]}")
    page.goto("/admin/benefits")
    _sign_in(tab, make_staff("admin"))
    look = ("el => { const s = getComputedStyle(el); return [s.borderTopWidth, s.borderTopStyle, "
            "s.borderTopColor, s.minHeight, s.fontSize, s.paddingLeft]; }")
    text_field = page.get_by_label("Name", exact=True).evaluate(look)
    for number in ("#membership_days", "#count", "#days"):
        assert page.locator(number).evaluate(look) == text_field, number
    tab.page_done("admin-benefits-numbers")


def test_a_suspended_then_expired_card_reads_as_such_on_the_status_page(
        tab: Tab, runtime: Runtime, clock: Clock) -> None:
    page = tab.page
    reference, card_id = issued_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        card_actions.suspend(session, desk=runtime.cards, actor=SUPERVISOR,
                             card_id=uuid.UUID(card_id), reason="under_investigation")
    page.goto("/status?lang=ko")
    _check_status(tab, reference)
    expect(page.locator(".status-label")).to_have_text(i18n.card_message("suspended", "ko")[0])
    with unit_of_work(runtime.sessions) as session:
        card_actions.unsuspend(session, desk=runtime.cards, actor=SUPERVISOR,
                               card_id=uuid.UUID(card_id), reason="investigation_closed")
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=6 * 366))
    page.goto("/status?lang=ru")
    _check_status(tab, reference)
    expect(page.locator(".status-label")).to_have_text(i18n.card_message("expired", "ru")[0])
    tab.page_done("status-ru-expired")
