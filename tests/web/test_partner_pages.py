"""The partner desk and the admin's partner pages without a browser: the policy decides what the
result shows, redemption is once per form, a partner admin manages only its own partner's
accounts, and an API key is shown once."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import qrcode
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from api.runtime import Runtime
from api.web.csrf import HEADER
from api.web.pages import CONTENT_SECURITY_POLICY
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from staff import service as staff_service
from staff.models import StaffAccount
from tests.conftest import STAFF_PASSWORD, all_table_text, sign_in_body
from tests.factories import audit_trail
from tests.redemption.helpers import make_cardholder
from tests.web.conftest import (
    PartnerSignIn,
    SignIn,
    fill_report,
    make_membership,
    make_partner,
    revoke_card,
)

Client = TestClient
NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
HOLDER_FIRST = "Zephyrine"


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def _scan(client: Client, token: str, qr: str, **extra: str) -> str:
    response = client.post("/partner/scan", data={"csrf_token": token, "qr": qr, **extra})
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    text: str = response.text
    return text


def _redeem_form(page: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/partner/redeem".*?</form>', page, re.S)
    assert form, "no redeem button on the page"
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(0)))


# --- what the policy lets a desk see --------------------------------------------------------


def test_a_cultural_desk_sees_validity_but_never_the_name(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime, first_name=HOLDER_FIRST)
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime, "cultural"))
    page = _scan(browser_client, token, holder["qr"])
    assert "verdict-valid" in page and "Card valid" in page
    assert "Holder token" in page and "Valid until" in page
    assert HOLDER_FIRST not in page and "Date of birth" not in page
    assert holder["card_number"] not in page


def test_a_bank_desk_sees_the_name_and_date_of_birth(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime, first_name=HOLDER_FIRST)
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime, "bank"))
    page = _scan(browser_client, token, holder["qr"])
    assert "Card valid" in page
    assert HOLDER_FIRST in page and holder["date_of_birth"] in page
    assert holder["card_number"] in page
    assert "Redeem" not in page  # a bank's policy has no redemption


def test_a_police_desk_must_choose_a_purpose_code(runtime: Runtime, browser_client: Client,
                                                  sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime, first_name=HOLDER_FIRST)
    police = make_partner(runtime, "police")
    token = sign_in_partner(browser_client, "partner_desk", police)
    desk = browser_client.get("/partner").text
    assert '<select id="purpose" name="purpose" required' in desk
    assert '<option value="traffic_stop">Traffic stop</option>' in desk
    assert 'name="incident_reference"' in desk
    refused = browser_client.post("/partner/scan", data={"csrf_token": token,
                                                         "qr": holder["qr"]})
    assert refused.status_code == 422 and "purpose" in refused.text
    assert HOLDER_FIRST not in refused.text
    typed = browser_client.post("/partner/scan", data={"csrf_token": token, "qr": holder["qr"],
                                                       "purpose": "undocumented"})
    assert typed.status_code == 422 and HOLDER_FIRST not in typed.text
    page = _scan(browser_client, token, holder["qr"], purpose="traffic_stop",
                 incident_reference="INC-2026-0042")
    assert "Card valid" in page and HOLDER_FIRST in page
    assert 'alt="The holder\'s photo on file"' in page
    # The audit names the police partner and the officer's own account, with the purpose code;
    # the incident reference only as a keyed hash.
    [entry] = [e for e in audit_trail(runtime) if e.action == "card.verified"]
    with unit_of_work(runtime.sessions) as session:
        officer = session.scalars(select(StaffAccount.id).where(
            StaffAccount.partner_id == police, StaffAccount.role == "partner_desk")).one()
    assert (entry.actor, entry.purpose) == (f"partner:{police}", "traffic_stop")
    assert entry.detail["via"] == f"staff:{officer}"
    assert re.fullmatch(r"[0-9a-f]{64}", str(entry.detail["incident"]))
    stored = all_table_text(runtime)
    assert "undocumented" not in stored and "2026-0042" not in stored
    assert "20260042" not in stored


def test_a_revoked_card_is_red_with_the_reason_in_words(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime, first_name=HOLDER_FIRST)
    revoke_card(runtime, holder["id"])
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime, "bank"))
    page = _scan(browser_client, token, holder["qr"])
    assert "verdict-invalid" in page and "Card revoked" in page
    assert HOLDER_FIRST not in page


def test_a_code_that_is_not_a_card_is_said_plainly(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime))
    page = _scan(browser_client, token, "HELLO-WORLD")
    assert "verdict-invalid" in page
    assert re.search(r"Not a City ID card code|could not be read|not genuine", page)


# --- redemption -----------------------------------------------------------------------------


def test_one_redeem_form_redeems_once_and_a_new_try_is_refused_with_the_date(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    partner_id = make_partner(runtime)
    make_membership(runtime, partner_id)
    token = sign_in_partner(browser_client, "partner_desk", partner_id)
    page = _scan(browser_client, token, holder["qr"])
    assert "Annual membership" in page and "Available." in page
    form = _redeem_form(page)
    assert form["idempotency_key"].startswith("web-")
    first = browser_client.post("/partner/redeem", data=form)
    again = browser_client.post("/partner/redeem", data=form)  # a double-click, a resubmit
    assert first.status_code == again.status_code == 200
    receipt = re.search(r'class="receipt-number">(R-[0-9A-Z]+)<', first.text)
    assert receipt and receipt.group(1) in again.text
    assert "Member until" in first.text

    rescanned = _scan(browser_client, token, holder["qr"])
    assert f"Used on {NOW.date().isoformat()}; member until" in rescanned
    assert 'action="/partner/redeem"' not in rescanned  # no button for a used benefit
    # A form kept from before (another tab, a back button) is still refused by the ledger.
    refused = browser_client.post("/partner/redeem",
                                  data={**form, "idempotency_key": "web-kept-form-1"})
    assert refused.status_code == 409
    assert f"Already redeemed on {NOW.date().isoformat()}." in refused.text


def test_a_redeem_form_without_its_token_is_refused(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    partner_id = make_partner(runtime)
    make_membership(runtime, partner_id)
    token = sign_in_partner(browser_client, "partner_desk", partner_id)
    form = _redeem_form(_scan(browser_client, token, holder["qr"]))
    refused = browser_client.post("/partner/redeem", data={**form, "csrf_token": "0" * 64})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert browser_client.post("/partner/scan", data={"qr": holder["qr"]}).status_code == 403


# --- the camera fallback: frames decoded by zxing-cpp ---------------------------------------


def _qr_png(text: str) -> bytes:
    image = qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def test_a_camera_frame_is_decoded_on_the_server_and_verified(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime))
    found = browser_client.post("/partner/scan-image", content=_qr_png(holder["qr"]),
                                headers={"content-type": "image/png", HEADER: token})
    assert found.status_code == 200 and "Card valid" in found.text
    blank = io.BytesIO()
    Image.new("L", (64, 48), 255).save(blank, "PNG")
    nothing = browser_client.post("/partner/scan-image", content=blank.getvalue(),
                                  headers={"content-type": "image/png", HEADER: token})
    assert nothing.status_code == 204
    forged = browser_client.post("/partner/scan-image", content=_qr_png(holder["qr"]),
                                 headers={"content-type": "image/png"})
    assert forged.status_code == 403


def test_a_photo_of_the_card_works_without_scripts(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime)
    token = sign_in_partner(browser_client, "partner_desk", make_partner(runtime))
    page = browser_client.post("/partner/scan-image", data={"csrf_token": token},
                               files={"photo": ("card.png", _qr_png(holder["qr"]),
                                                "image/png")})
    assert page.status_code == 200 and "Card valid" in page.text


# --- partner accounts -----------------------------------------------------------------------


def test_a_partner_admin_adds_and_deactivates_its_desk_accounts(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn) -> None:
    partner_id = make_partner(runtime)
    token = sign_in_partner(browser_client, "partner_admin", partner_id)
    added = browser_client.post("/partner/accounts", data={
        "csrf_token": token, "username": "Museum-Desk-1", "password": STAFF_PASSWORD})
    assert added.status_code == 303
    assert "museum-desk-1" in browser_client.get("/partner/accounts").text
    with unit_of_work(runtime.sessions) as session:
        account = next(a for a in staff_service.list_accounts(session, partner_id=partner_id)
                       if a.username == "museum-desk-1")
        assert account.role == "partner_desk"
    done = browser_client.post(f"/partner/accounts/{account.id}/deactivate",
                               data={"csrf_token": token})
    assert done.status_code == 303
    assert "Deactivated" in browser_client.get("/partner/accounts").text


def test_a_partner_admin_cannot_see_or_manage_another_partner_s_accounts(
        runtime: Runtime, browser_client: Client, make_staff: Callable[..., str],
        sign_in_partner: PartnerSignIn) -> None:
    partner_b = make_partner(runtime, name="Partner B")
    other = make_staff("partner_desk", username="b-desk", partner_id=partner_b)
    token = sign_in_partner(browser_client, "partner_admin", make_partner(runtime))
    assert other not in browser_client.get("/partner/accounts").text
    with unit_of_work(runtime.sessions) as session:
        b_account = next(a for a in staff_service.list_accounts(session) if a.username == other)
    refused = browser_client.post(f"/partner/accounts/{b_account.id}/deactivate",
                                  data={"csrf_token": token})
    assert refused.status_code == 404
    with unit_of_work(runtime.sessions) as session:
        assert staff_service.get_account(session, b_account.id).active


def test_a_desk_account_cannot_manage_accounts(runtime: Runtime, browser_client: Client,
                                               sign_in_partner: PartnerSignIn) -> None:
    sign_in_partner(browser_client, "partner_desk", make_partner(runtime))
    assert browser_client.get("/partner/accounts").status_code == 403


def test_an_inactive_partner_s_accounts_are_refused(
        runtime: Runtime, browser_client: Client, sign_in_partner: PartnerSignIn,
        auth_header: Callable[[str], dict[str, str]], client: Client) -> None:
    partner_id = make_partner(runtime)
    sign_in_partner(browser_client, "partner_desk", partner_id)
    admin = auth_header("admin")
    assert client.patch(f"/v1/partners/{partner_id}", headers=admin,
                        json={"active": False}).status_code == 200
    refused = browser_client.get("/partner")
    assert refused.status_code == 403 and "not active in the program" in refused.text


def test_the_admin_makes_a_partner_s_first_admin_through_the_api(
        runtime: Runtime, client: Client, auth_header: Callable[[str], dict[str, str]]) -> None:
    partner_id = make_partner(runtime)
    made = client.post(f"/v1/partners/{partner_id}/accounts", headers=auth_header("admin"),
                       json={"username": "museum-admin", "password": STAFF_PASSWORD})
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "partner_admin"
    assert made.json()["partner_id"] == str(partner_id)
    token = client.post("/v1/auth/token", json=sign_in_body("museum-admin"))
    me = client.get("/v1/auth/me",
                    headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["role"] == "partner_admin"
    unknown = client.post(f"/v1/partners/{uuid.uuid4()}/accounts", headers=auth_header("admin"),
                          json={"username": "ghost-admin", "password": STAFF_PASSWORD})
    assert unknown.status_code == 404
    program_role = client.post("/v1/staff", headers=auth_header("admin"), json={
        "username": "no-partner", "password": STAFF_PASSWORD, "role": "partner_desk"})
    assert program_role.status_code == 422
    assert program_role.json()["code"] == "partner_role_mismatch"


# --- the admin's partner pages --------------------------------------------------------------


def test_an_admin_creates_a_partner_and_a_key_shown_once(
        runtime: Runtime, browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "admin")
    created = browser_client.post("/admin/partners", data={
        "csrf_token": token, "name": "Harbor Zoo", "type": "cultural"})
    assert created.status_code == 303
    partner_url = created.headers["location"]
    key_page = browser_client.post(f"{partner_url}/keys", data={
        "csrf_token": token, "label": "front gate", "expires_in_days": "30"})
    assert key_page.status_code == 201
    assert key_page.headers["cache-control"] == "no-store"
    key = re.search(r'value="(cpk_[0-9a-f]{8}_[^"]+)"', key_page.text)
    assert key, key_page.text
    detail = browser_client.get(partner_url).text
    assert key.group(1) not in detail
    assert key.group(1)[:12] in detail and "front gate" in detail  # its prefix only
    key_id = re.search(r'/keys/([0-9a-f-]{36})/revoke', detail)
    assert key_id
    revoked = browser_client.post(f"{partner_url}/keys/{key_id.group(1)}/revoke",
                                  data={"csrf_token": token})
    assert revoked.status_code == 303 and "Revoked" in browser_client.get(partner_url).text


def test_an_admin_narrows_a_partner_s_policy_and_the_desk_sees_less(
        runtime: Runtime, app: object, browser_client: Client, sign_in: SignIn,
        sign_in_partner: PartnerSignIn) -> None:
    holder = make_cardholder(runtime, first_name=HOLDER_FIRST)
    bank = make_partner(runtime, "bank")
    token = sign_in(browser_client, "admin")
    narrowed = browser_client.post(f"/admin/partners/{bank}/policy", data={
        "csrf_token": token, "operations": ["verify"],
        "attributes": ["validity", "expires_on"]})
    assert narrowed.status_code == 303
    wider = browser_client.post(f"/admin/partners/{bank}/policy", data={
        "csrf_token": token, "operations": ["verify", "redeem"], "attributes": ["validity"]})
    assert wider.status_code == 422 and "redeem" in wider.text
    desk = TestClient(browser_client.app, base_url="https://testserver",
                      follow_redirects=False)
    desk_token = sign_in_partner(desk, "partner_desk", bank)
    page = _scan(desk, desk_token, holder["qr"])
    assert "Card valid" in page and HOLDER_FIRST not in page


def test_an_auditor_reads_the_partner_pages_but_changes_nothing(
        runtime: Runtime, browser_client: Client, sign_in: SignIn) -> None:
    partner_id = make_partner(runtime, name="Read Only Museum")
    token = sign_in(browser_client, "auditor")
    listing = browser_client.get("/admin/partners")
    assert listing.status_code == 200 and "Read Only Museum" in listing.text
    assert 'action="/admin/partners"' not in listing.text
    assert browser_client.get(f"/admin/partners/{partner_id}").status_code == 200
    assert browser_client.post(f"/admin/partners/{partner_id}/keys",
                               data={"csrf_token": token}).status_code == 403


def test_an_admin_adds_a_benefit_and_moves_its_window(
        runtime: Runtime, browser_client: Client, sign_in: SignIn) -> None:
    partner_id = make_partner(runtime, name="Library Central")
    token = sign_in(browser_client, "admin")
    added = browser_client.post("/admin/benefits", data={
        "csrf_token": token, "partner_id": str(partner_id), "name": "Free printing",
        "category": "service", "count": "5", "period": "calendar_month", "days": "",
        "active_from": "2026-01-01", "active_until": "2026-12-31"})
    assert added.status_code == 303, added.text
    page = browser_client.get("/admin/benefits").text
    assert "Free printing" in page and "Library Central" in page
    benefit_id = re.search(r'action="/admin/benefits/([0-9a-f-]{36})"', page)
    assert benefit_id
    backwards = browser_client.post(f"/admin/benefits/{benefit_id.group(1)}", data={
        "csrf_token": token, "active_from": "2026-06-01", "active_until": "2026-01-01"})
    assert backwards.status_code == 422
    moved = browser_client.post(f"/admin/benefits/{benefit_id.group(1)}", data={
        "csrf_token": token, "active_from": "2026-02-01", "active_until": "2027-01-31"})
    assert moved.status_code == 303
    assert 'value="2027-01-31"' in browser_client.get("/admin/benefits").text


def test_the_report_shows_small_cells_as_fewer_than_ten_and_draws_bars(
        runtime: Runtime, clock: Clock, browser_client: Client, sign_in: SignIn) -> None:
    fill_report(runtime, clock)
    sign_in(browser_client, "auditor")
    page = browser_client.get("/admin/reports")
    assert page.status_code == 200
    assert "fewer than 10" in page.text
    assert '<svg class="chart"' in page.text and "<rect" in page.text
    assert ">12<" in page.text  # the shown cell
    assert not re.search(r"<td>[1-9]</td>", page.text)  # no small count anywhere
