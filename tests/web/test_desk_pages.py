"""The partner desk's void, receipt and lookup forms without a browser: the void goes through the
same ledger rule as the API (the recording partner, within the window, once, with a reason), the
receipt holds no personal data, and the page states the configured clearing time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from redemption.models import Redemption
from tests.redemption.helpers import make_cardholder
from tests.web.conftest import PartnerSignIn, make_membership, make_partner

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"partner_desk_clear_seconds": 300}


def _form(page: str, action: str) -> dict[str, str]:
    found = re.search(rf'<form method="post" action="{action}".*?</form>', page, re.S)
    assert found, f"no {action} form on the page"
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', found.group(0)))


def _redeemed(runtime: Runtime, client: TestClient, sign_in_partner: PartnerSignIn,
              qr: str | None = None) -> tuple[str, str]:
    """Signs a desk in, scans a holder's card, redeems; the receipt page and the card's QR."""
    partner_id = make_partner(runtime)
    make_membership(runtime, partner_id)
    qr = qr or make_cardholder(runtime)["qr"]
    token = sign_in_partner(client, "partner_desk", partner_id)
    page = client.post("/partner/scan", data={"csrf_token": token, "qr": qr}).text
    receipt = client.post("/partner/redeem", data=_form(page, "/partner/redeem"))
    assert receipt.status_code == 200, receipt.text
    return receipt.text, qr


def _voided(runtime: Runtime) -> list[str | None]:
    with unit_of_work(runtime.sessions) as session:
        return [r.void_reason for r in session.scalars(select(Redemption))]


def test_a_void_asks_first_then_voids_once_with_its_reason(
        runtime: Runtime, browser_client: TestClient, sign_in_partner: PartnerSignIn) -> None:
    receipt, _ = _redeemed(runtime, browser_client, sign_in_partner)
    asked = browser_client.post("/partner/void", data=_form(receipt, "/partner/void"))
    assert asked.status_code == 200 and "Void receipt R-" in asked.text
    assert _voided(runtime) == [None]  # asking voids nothing
    confirm = {**_form(asked.text, "/partner/void"), "confirm": "yes"}
    no_reason = browser_client.post("/partner/void", data=confirm)
    assert no_reason.status_code == 422 and "Reason for voiding" in no_reason.text
    done = browser_client.post("/partner/void", data={**confirm, "reason": "duplicate_scan"})
    assert done.status_code == 200 and "Voided: Annual membership" in done.text
    assert 'action="/partner/redeem"' in done.text  # the benefit is available again
    assert _voided(runtime) == ["duplicate_scan"]
    again = browser_client.post("/partner/void", data={**confirm, "reason": "duplicate_scan"})
    assert again.status_code == 409 and "already voided" in again.text


def test_after_the_void_window_the_desk_offers_no_void_and_the_ledger_refuses_one(
        runtime: Runtime, clock: Clock, browser_client: TestClient,
        sign_in_partner: PartnerSignIn) -> None:
    receipt, _ = _redeemed(runtime, browser_client, sign_in_partner)
    form = _form(receipt, "/partner/void")
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=15, seconds=1))
    shown = browser_client.post("/partner/void", data=form)
    assert "Void this redemption" not in shown.text
    refused = browser_client.post("/partner/void", data={**form, "confirm": "yes",
                                                        "reason": "entered_in_error"})
    assert refused.status_code == 409 and "within 15 minutes" in refused.text
    assert _voided(runtime) == [None]


def test_another_partners_desk_cannot_void_or_read_a_receipt(
        runtime: Runtime, browser_client: TestClient, app: object,
        sign_in_partner: PartnerSignIn) -> None:
    receipt, _ = _redeemed(runtime, browser_client, sign_in_partner)
    form = _form(receipt, "/partner/void")
    with unit_of_work(runtime.sessions) as session:
        number = session.scalars(select(Redemption.receipt_number)).one()
    browser_client.cookies.clear()
    other = sign_in_partner(browser_client, "partner_desk", make_partner(runtime))
    for extra in ({}, {"confirm": "yes", "reason": "entered_in_error"}):
        refused = browser_client.post("/partner/void",
                                      data={**form, **extra, "csrf_token": other})
        assert refused.status_code == 404, refused.text
        # The receipt's own number, not "R-": the page's QR text is Base45 and can hold that.
        assert number not in refused.text
    assert _voided(runtime) == [None]


def test_the_receipt_shows_no_personal_data_and_the_page_states_the_clearing_time(
        runtime: Runtime, browser_client: TestClient, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    page, _ = _redeemed(runtime, browser_client, sign_in_partner, holder["qr"])
    receipt = re.search(r'<section class="verdict receipt.*?</section>', page, re.S)
    assert receipt is not None
    # What the holder sees and what prints: the receipt less its void form (a print hides forms;
    # the card's code rides in their hidden fields, as on every desk form).
    shown = re.sub(r"<form.*?</form>", "", receipt.group(0), flags=re.S)
    assert "R-" in shown and "Annual membership" in shown
    for personal in ("Zephyrine", holder["card_number"], holder["date_of_birth"], holder["qr"]):
        assert personal not in shown
    assert "clears from the screen after 5 minutes" in " ".join(page.split())
    assert 'data-clear-after="300"' in page


def test_a_lookup_by_number_needs_both_the_number_and_the_date_of_birth(
        runtime: Runtime, browser_client: TestClient, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime, "library"))
    missing = browser_client.post("/partner/lookup", data={
        "csrf_token": token, "card_number": holder["card_number"]})
    assert missing.status_code == 422 and "Date of birth" in missing.text
    found = browser_client.post("/partner/lookup", data={
        "csrf_token": token, "card_number": holder["card_number"],
        "date_of_birth": holder["date_of_birth"]})
    assert found.status_code == 200 and "Card valid" in found.text
