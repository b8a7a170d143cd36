"""The pages' behaviour without a browser: the clerk's forms, errors shown on the form they came
from, the supervisor's queue, the admin's staff page and the status page's languages."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.runtime import Runtime
from api.web.status import words
from cityid.db import unit_of_work
from enrollment import i18n
from staff import service as staff_service
from tests.conftest import STAFF_PASSWORD
from tests.factories import KNOWN_DOB, KNOWN_FIRST, photo_png
from tests.web.conftest import SignIn, csrf_token, new_application, status_form

Client = TestClient


# --- a new application ----------------------------------------------------------------------


def test_a_new_application_is_made_from_the_form(browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    response = browser_client.post("/clerk/applications", data={
        "csrf_token": token, "first_name": KNOWN_FIRST, "last_name": "Okafor",
        "date_of_birth": "1990-06-01", "address_kind": "care_of", "organisation": "Hope Shelter",
        "line1": "1 Main St", "city": "Springfield", "state": "ny", "postal_code": "11201",
        "gender": "X", "language_1": "ht", "veteran": "on"})
    assert response.status_code == 303, response.text
    page = browser_client.get(response.headers["location"])
    assert page.status_code == 200
    assert KNOWN_FIRST in page.text and "Okafor" in page.text
    assert "Pickup in person" in page.text  # care-of: pickup
    assert "0 of 4 points" in page.text.replace("<strong id=\"tally-points\">", "").replace(
        "</strong>", "")


def test_a_bad_application_form_comes_back_with_the_fields_named(browser_client: Client,
        sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    response = browser_client.post("/clerk/applications", data={
        "csrf_token": token, "first_name": "Ada", "last_name": "", "date_of_birth": "1990-06-01",
        "address_kind": "home", "line1": "1 Main St", "city": "Springfield", "state": "NY",
        "postal_code": "ABCDE"})
    assert response.status_code == 422
    assert "Check: Last name, ZIP code." in response.text
    assert re.search(r'id="postal_code"[^>]*aria-invalid="true"', response.text)
    assert 'value="Ada"' in response.text  # what was typed stays


def test_a_minor_without_a_caretaker_is_refused_on_the_form(browser_client: Client,
        sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    born = date.today().replace(year=date.today().year - 12) - timedelta(days=3)
    response = browser_client.post("/clerk/applications", data={
        "csrf_token": token, "first_name": "Mina", "last_name": "Park",
        "date_of_birth": born.isoformat(), "address_kind": "none"})
    assert response.status_code == 422
    assert "apply with a caretaker" in response.text
    assert 'value="Mina"' in response.text


# --- the application page -------------------------------------------------------------------


def test_documents_move_the_tally_and_say_what_is_missing(runtime: Runtime, browser_client: Client,
        sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime)
    url = f"/clerk/applications/{reference}"
    page = browser_client.get(url).text
    assert "3 more identity points" in page and "1 more residency point" in page
    expires = (date.today() + timedelta(days=300)).isoformat()
    added = browser_client.post(url + "/documents", data={
        "csrf_token": token, "kind": "passport", "expires_on": expires})
    assert added.status_code == 303 and added.headers["location"] == url + "#tally"
    page = browser_client.get(url).text
    assert "3 more identity points" not in page and "1 more residency point" in page
    issued = (date.today() - timedelta(days=5)).isoformat()
    browser_client.post(url + "/documents", data={
        "csrf_token": token, "kind": "utility_bill", "issued_on": issued})
    page = browser_client.get(url).text
    assert "The documents satisfy the rulebook." in page


def test_a_document_the_rulebook_refuses_shows_why_beside_the_picker(runtime: Runtime,
        browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime)
    url = f"/clerk/applications/{reference}"
    response = browser_client.post(url + "/documents", data={
        "csrf_token": token, "kind": "utility_bill"})
    assert response.status_code == 422
    assert "This document kind needs its issue date" in response.text
    section = response.text.split('id="documents"')[1].split("</section>")[0]
    assert 'role="alert"' in section
    assert "No documents checked yet." in response.text  # nothing was kept


def test_an_application_goes_from_photo_to_card_on_the_pages(runtime: Runtime,
        browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime, documents=True)
    url = f"/clerk/applications/{reference}"
    photo = browser_client.post(url + "/photo", content=photo_png(), headers={
        "content-type": "image/png", "x-csrf-token": token})
    assert photo.status_code == 303
    assert "A photo is on file" in browser_client.get(url).text
    for step in ("submit", "review"):
        assert browser_client.post(f"{url}/{step}", data={"csrf_token": token}).status_code == 303
    decided = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "approve", "reason": "rulebook_satisfied"})
    assert decided.headers["location"] == url + "#cards"
    page = browser_client.get(url).text
    card_id = re.search(r"/clerk/cards/([0-9a-f-]{36})/image\?side=front", page)
    assert card_id, page
    front = browser_client.get(f"/clerk/cards/{card_id.group(1)}/image?side=front")
    back = browser_client.get(f"/clerk/cards/{card_id.group(1)}/image?side=back")
    assert front.headers["content-type"] == "image/png" and front.content[:4] == b"\x89PNG"
    assert back.content[:4] == b"\x89PNG" and back.content != front.content
    assert front.headers["cache-control"] == "no-store"
    pdf = browser_client.get(f"/clerk/cards/{card_id.group(1)}/print.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"


def test_a_photo_posted_without_its_token_is_refused(runtime: Runtime, browser_client: Client,
        sign_in: SignIn) -> None:
    sign_in(browser_client, "clerk")
    reference = new_application(runtime)
    response = browser_client.post(f"/clerk/applications/{reference}/photo",
                                   content=photo_png(), headers={"content-type": "image/png"})
    assert response.status_code == 403


def test_a_photo_from_the_file_form_without_scripts(runtime: Runtime, browser_client: Client,
        sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime)
    url = f"/clerk/applications/{reference}"
    response = browser_client.post(url + "/photo", data={"csrf_token": token},
                                   files={"photo": ("me.png", photo_png(), "image/png")})
    assert response.status_code == 303
    assert "A photo is on file" in browser_client.get(url).text
    tiny = browser_client.post(url + "/photo", data={"csrf_token": token},
                               files={"photo": ("me.png", photo_png((40, 40)), "image/png")})
    assert tiny.status_code == 422 and "must be at least 150 x 200 pixels" in tiny.text


def test_approval_without_a_photo_is_refused_with_the_reason(runtime: Runtime,
        browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime, documents=True)
    url = f"/clerk/applications/{reference}"
    for step in ("submit", "review"):
        browser_client.post(f"{url}/{step}", data={"csrf_token": token})
    response = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "approve", "reason": "rulebook_satisfied"})
    assert response.status_code == 409
    assert "needs a photo" in response.text
    assert "In review" in response.text  # the page is shown again, unchanged


def test_a_clerk_cannot_override_but_a_supervisor_can(runtime: Runtime, browser_client: Client,
        sign_in: SignIn) -> None:
    reference = new_application(runtime, photo=True)
    url = f"/clerk/applications/{reference}"
    token = sign_in(browser_client, "clerk")
    for step in ("submit", "review"):
        browser_client.post(f"{url}/{step}", data={"csrf_token": token})
    page = browser_client.get(url).text
    assert "Approve with an override" not in page
    refused = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "override", "reason": "hardship_exception"})
    assert refused.status_code == 403
    assert "Only a supervisor" in refused.text
    token = sign_in(browser_client, "supervisor")
    assert "Approve with an override" in browser_client.get(url).text
    approved = browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "override", "reason": "hardship_exception"})
    assert approved.status_code == 303
    page = browser_client.get(url).text
    assert "Card issued" in page and "(rulebook override)" in page


def test_a_lost_card_is_revoked_and_replaced_from_the_page(runtime: Runtime,
        browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    reference = new_application(runtime, documents=True, photo=True)
    url = f"/clerk/applications/{reference}"
    for step in ("submit", "review"):
        browser_client.post(f"{url}/{step}", data={"csrf_token": token})
    browser_client.post(url + "/decision", data={
        "csrf_token": token, "outcome": "approve", "reason": "rulebook_satisfied"})
    card = re.search(r"/cards/([0-9a-f-]{36})/revoke", browser_client.get(url).text)
    assert card
    revoked = browser_client.post(f"{url}/cards/{card.group(1)}/revoke",
                                  data={"csrf_token": token, "reason": "lost", "confirm": "on"})
    assert revoked.status_code == 303
    page = browser_client.get(url).text
    assert "Revoked (Lost)" in page
    fraud = browser_client.post(f"{url}/cards/{card.group(1)}/revoke",
                                data={"csrf_token": token, "reason": "fraud", "confirm": "on"})
    assert fraud.status_code == 403 and "needs the role" in fraud.text
    replaced = browser_client.post(f"{url}/cards/{card.group(1)}/replace",
                                   data={"csrf_token": token, "reason": "lost"})
    assert replaced.status_code == 303
    page = browser_client.get(url).text
    assert "Issue 2" in page and "Issue 1" in page
    early = browser_client.post(
        f"{url}/cards/{re.findall(r'/cards/([0-9a-f-]{36})/renew', page)[0]}/renew",
        data={"csrf_token": token, "reason": "expiring"})
    assert early.status_code == 409 and "can be renewed from" in early.text


def test_an_unknown_reference_is_a_404_page(browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    response = browser_client.get("/clerk/applications/0000-0000-0000")
    assert response.status_code == 404
    assert "No application with that reference" in response.text
    found = browser_client.post("/clerk/find", data={"csrf_token": token,
                                                     "reference": "not a ref"})
    assert found.status_code == 422


# --- the supervisor's queue -----------------------------------------------------------------


def test_a_duplicate_is_flagged_and_resolved_in_the_queue(runtime: Runtime, browser_client: Client,
        sign_in: SignIn) -> None:
    new_application(runtime)
    reference = new_application(runtime)
    token = sign_in(browser_client, "supervisor")
    url = f"/clerk/applications/{reference}"
    assert 'id="duplicate-warning"' in browser_client.get(url).text
    queue = browser_client.get("/clerk/queue").text
    assert reference in queue
    flag = re.search(r"/clerk/queue/duplicates/([0-9a-f-]{36})/resolve", queue)
    assert flag
    bad = browser_client.post(flag.group(0), data={"csrf_token": token,
                                                   "resolution": "looks_fine"})
    assert bad.status_code == 422 and reference in bad.text
    unconfirmed = browser_client.post(flag.group(0), data={"csrf_token": token,
                                                           "resolution": "not_duplicate"})
    assert unconfirmed.status_code == 422 and "cannot be undone" in unconfirmed.text
    resolved = browser_client.post(flag.group(0), data={"csrf_token": token, "confirm": "on",
                                                        "resolution": "not_duplicate"})
    assert resolved.status_code == 303
    assert reference not in browser_client.get("/clerk/queue").text
    assert 'id="duplicate-warning"' not in browser_client.get(url).text


# --- the admin's staff page -----------------------------------------------------------------


def test_an_admin_adds_and_deactivates_staff(runtime: Runtime, app: FastAPI,
        browser_client: Client, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "admin")
    weak = browser_client.post("/admin/staff", data={
        "csrf_token": token, "username": "newclerk", "password": "short", "role": "clerk"})
    assert weak.status_code == 422 and "Password" in weak.text
    assert 'value="newclerk"' in weak.text
    added = browser_client.post("/admin/staff", data={
        "csrf_token": token, "username": "NewClerk", "password": STAFF_PASSWORD,
        "role": "clerk"})
    assert added.status_code == 303
    page = browser_client.get("/admin/staff").text
    assert "newclerk" in page
    with unit_of_work(runtime.sessions) as session:
        account = next(a for a in staff_service.list_accounts(session)
                       if a.username == "newclerk")
    other = TestClient(app, base_url="https://testserver",
                       follow_redirects=False)
    signin = other.get("/signin")
    assert other.post("/signin", data={"csrf_token": csrf_token(signin.text),
                                       "username": "newclerk",
                                       "password": STAFF_PASSWORD}).status_code == 303
    assert other.get("/clerk").status_code == 200
    deactivated = browser_client.post(f"/admin/staff/{account.id}/deactivate",
                                      data={"csrf_token": token})
    assert deactivated.status_code == 303
    assert "Deactivated" in browser_client.get("/admin/staff").text
    assert other.get("/clerk").status_code == 401  # its session ended at once
    taken = browser_client.post("/admin/staff", data={
        "csrf_token": token, "username": "newclerk", "password": STAFF_PASSWORD,
        "role": "clerk"})
    assert taken.status_code == 409 and "already in use" in taken.text


# --- the status page ------------------------------------------------------------------------


def test_the_status_page_speaks_each_language(browser_client: Client) -> None:
    for lang in i18n.SUPPORTED:
        page = browser_client.get(f"/status?lang={lang}")
        assert page.status_code == 200
        assert f'<html lang="{i18n.html_lang(lang)}" dir="{i18n.direction(lang)}">' in page.text
    arabic = browser_client.get("/status?lang=ar").text
    assert 'dir="rtl"' in arabic and "تحقق من حالة طلبك" in arabic
    # With no choice, the browser's language is used.
    korean = browser_client.get("/status", headers={"accept-language": "ko-KR,ko;q=0.9"}).text
    assert "신청 상태 확인" in korean


def test_the_status_answer_gives_the_next_step_in_the_chosen_language(runtime: Runtime,
        browser_client: Client) -> None:
    reference = new_application(runtime, documents=True)
    token = csrf_token(browser_client.get("/status?lang=es").text)
    response = browser_client.post("/status", data=status_form(
        reference.lower(), csrf_token=token, lang="es"))
    assert response.status_code == 200
    label, next_step = i18n.status_message("draft", "es")
    assert label in response.text and next_step in response.text
    assert "Consulte el estado de su solicitud" in response.text


def test_a_wrong_date_of_birth_gets_the_one_not_found_answer(runtime: Runtime,
        browser_client: Client) -> None:
    reference = new_application(runtime)
    token = csrf_token(browser_client.get("/status?lang=ru").text)
    response = browser_client.post("/status", data=status_form(
        reference, KNOWN_DOB + timedelta(days=1), csrf_token=token, lang="ru"))
    assert response.status_code == 404
    assert i18n.not_found_message("ru") in response.text
    assert f'value="{reference}"' in response.text


def test_an_impossible_date_is_named_in_the_language(browser_client: Client) -> None:
    token = csrf_token(browser_client.get("/status?lang=ht").text)
    response = browser_client.post("/status", data=status_form(
        "7KQ2-M9XD-4TRB", csrf_token=token, lang="ht", dob_month="13"))
    assert response.status_code == 422
    assert "Antre dat nesans ou an chif" in response.text
    assert re.search(r'id="dob_month"[^>]*aria-invalid="true"', response.text)


def test_too_many_checks_are_throttled_with_a_message(runtime: Runtime,
        browser_client: Client) -> None:
    token = csrf_token(browser_client.get("/status?lang=zh").text)
    body = status_form("7KQ2-M9XD-4TRB", csrf_token=token, lang="zh")
    limit = runtime.settings.status_checks_per_reference
    statuses = [browser_client.post("/status", data=body).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [404] * limit and statuses[-1] == 429
    last = browser_client.post("/status", data=body)
    assert i18n.throttled_message("zh") in last.text
    assert int(last.headers["retry-after"]) > 0


def test_every_language_has_the_page_s_own_words_translated() -> None:
    english = words("en")
    for lang in i18n.SUPPORTED:
        catalog = words(lang)
        assert catalog.keys() == english.keys(), lang
        if lang != "en":
            # Each sentence is the language's own, not English left in place.
            same = [k for k in english if catalog[k] == english[k]]
            assert not same, f"{lang}: untranslated {same}"
