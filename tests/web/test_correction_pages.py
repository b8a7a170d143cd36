"""The clerk's corrections and the applicant's receipt as pages, without a browser: the details
form corrects and re-checks duplicates, a document record is withdrawn from the application
page, the data is frozen after approval, and the receipt speaks the applicant's language
(Spanish, and Arabic right to left) with the documents still missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from api.web import receipt as receipt_page
from enrollment import i18n
from enrollment.rulebook_file import DocumentCategory
from tests.factories import KNOWN_DOB, KNOWN_FIRST, KNOWN_LAST, audit_trail
from tests.web.conftest import SignIn, csrf_token, issued_application, new_application

LOCALE = Path(receipt_page.__file__).with_name("receipt_locale")


def _edit_values(page: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="[^"]*/edit".*?</form>', page, re.S)
    assert form, "no details form on the page"
    values = dict(re.findall(r'name="([a-z_0-9]+)" value="([^"]*)"', form.group(0)))
    html = form.group(0)
    values["address_kind"] = re.search(r'name="address_kind" value="([a-z_]+)" checked',
                                       html).group(1)  # type: ignore[union-attr]
    # What a browser posts besides the text fields: the chosen options and ticked boxes.
    for name, options in re.findall(r'<select id="[^"]+" name="([a-z_0-9]+)">(.*?)</select>',
                                    html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        values[name] = chosen.group(1) if chosen else ""
    for name in re.findall(r'name="([a-z_]+)" checked>', html):
        values[name] = "on"
    return values


def test_the_details_form_corrects_the_application_and_finds_a_duplicate(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn) -> None:
    enrolled = new_application(runtime)
    reference = new_application(runtime, first_name="Barnaby", last_name="Oakes",
                                date_of_birth="1979-11-30")
    sign_in(browser_client, "clerk")
    page = browser_client.get(f"/clerk/applications/{reference}")
    assert 'id="correct-details"' in page.text and "Barnaby" in page.text
    form = browser_client.get(f"/clerk/applications/{reference}/edit")
    assert form.status_code == 200
    values = _edit_values(form.text)
    assert (values["first_name"], values["date_of_birth"]) == ("Barnaby", "1979-11-30")

    values.update(first_name=KNOWN_FIRST, last_name=KNOWN_LAST,
                  date_of_birth=KNOWN_DOB.isoformat())
    saved = browser_client.post(f"/clerk/applications/{reference}/edit", data=values)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/clerk/applications/{reference}#details"
    page = browser_client.get(f"/clerk/applications/{reference}").text
    assert 'id="duplicate-warning"' in page and KNOWN_FIRST in page
    [entry] = [e for e in audit_trail(runtime) if e.action == "application.corrected"]
    assert entry.detail == {"first_name": True, "last_name": True, "date_of_birth": True,
                            "new_duplicates": 1, "possible_duplicate": True}
    assert enrolled != reference

    bad = browser_client.post(f"/clerk/applications/{reference}/edit",
                              data={**values, "first_name": "", "postal_code": "nope"})
    assert bad.status_code == 422
    assert "First name" in bad.text and "ZIP code" in bad.text and 'value="nope"' in bad.text


def test_a_document_record_is_withdrawn_from_the_application_page(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn) -> None:
    reference = new_application(runtime, documents=True)
    token = sign_in(browser_client, "clerk")
    page = browser_client.get(f"/clerk/applications/{reference}").text
    assert "The documents satisfy the rulebook." in page
    actions = re.findall(r'action="(/clerk/applications/[^"]+/withdraw)"', page)
    assert len(actions) == 2
    no_reason = browser_client.post(actions[1], data={"csrf_token": token})
    assert no_reason.status_code == 422 and "Reason" in no_reason.text
    done = browser_client.post(actions[1], data={"csrf_token": token,
                                                 "reason": "recorded_twice"})
    assert done.status_code == 303, done.text
    page = browser_client.get(f"/clerk/applications/{reference}").text
    assert "1 more residency point" in page
    assert len(re.findall(r'/withdraw"', page)) == 1


def test_after_approval_the_details_are_frozen(runtime: Runtime, browser_client: TestClient,
                                               sign_in: SignIn) -> None:
    reference, _ = issued_application(runtime)
    token = sign_in(browser_client, "clerk")
    page = browser_client.get(f"/clerk/applications/{reference}").text
    assert 'id="correct-details"' not in page and "/withdraw" not in page
    assert 'id="frozen-note"' in browser_client.get(f"/clerk/applications/{reference}/edit").text
    refused = browser_client.post(f"/clerk/applications/{reference}/edit", data={
        "csrf_token": token, "first_name": "Other", "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB.isoformat(), "address_kind": "none"})
    assert refused.status_code == 409 and "frozen" in refused.text


def test_the_receipt_in_spanish_and_in_arabic_lists_the_missing_documents(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn) -> None:
    reference = new_application(runtime)  # no documents yet; prefers Spanish
    sign_in(browser_client, "clerk")
    page = browser_client.get(f"/clerk/applications/{reference}").text
    assert f'href="/clerk/applications/{reference}/receipt"' in page

    spanish = browser_client.get(f"/clerk/applications/{reference}/receipt")
    assert spanish.status_code == 200
    es = receipt_page.words("es")
    assert '<html lang="es" dir="ltr">' in spanish.text
    assert reference in spanish.text and es["documents_heading"] in spanish.text
    assert es["missing_identity_points"].replace("{points}", "3") in spanish.text
    assert es["missing_residency_points"].replace("{points}", "1") in spanish.text
    assert es["missing_photo_document"] in spanish.text
    assert i18n.status_message("draft", "es")[1] in spanish.text
    assert es["next_mail"] in spanish.text
    assert "https://id.city.example/status?lang=es" in spanish.text
    assert KNOWN_FIRST not in spanish.text and KNOWN_DOB.isoformat() not in spanish.text

    arabic = browser_client.get(f"/clerk/applications/{reference}/receipt?lang=ar")
    ar = receipt_page.words("ar")
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert ar["title"] in arabic.text and ar["missing_date_of_birth_document"] in arabic.text
    assert f'dir="ltr" id="receipt-reference">{reference}<' in arabic.text
    assert "https://id.city.example/status?lang=ar" in arabic.text


def test_a_complete_application_for_pickup_says_so_on_its_receipt(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn) -> None:
    reference = new_application(runtime, documents=True, address=None)
    sign_in(browser_client, "clerk")
    page = browser_client.get(f"/clerk/applications/{reference}/receipt?lang=ko").text
    ko = receipt_page.words("ko")
    assert ko["documents_none"] in page and ko["next_pickup"] in page
    assert 'id="receipt-missing"' not in page


def test_every_language_has_the_receipts_words_for_everything_the_rulebook_can_miss() -> None:
    codes = {f"missing_{c.value}_points" for c in DocumentCategory} | {
        "missing_total_points", "missing_photo_document", "missing_date_of_birth_document",
        "missing_caretaker", "missing_caretaker_relationship_document",
        "missing_applicant_too_young"}
    english = json.loads((LOCALE / "en.json").read_text("utf-8"))
    assert codes <= english.keys()
    for lang in i18n.SUPPORTED:
        words = receipt_page.words(lang)
        assert words.keys() == english.keys(), lang
        for key in english:
            assert ("{points}" in words[key]) == ("{points}" in english[key]), (lang, key)


@pytest.mark.parametrize("role", ["admin", "auditor", "partner_desk"])
def test_the_receipt_and_the_details_form_are_for_the_desk_only(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn, role: str) -> None:
    reference = new_application(runtime)
    sign_in(browser_client, role)
    for url in (f"/clerk/applications/{reference}/receipt",
                f"/clerk/applications/{reference}/edit",
                f"/clerk/applications/{reference}/photo"):
        response = browser_client.get(url)
        assert response.status_code == 403, (url, response.status_code)
        assert reference not in response.text
    page = browser_client.get("/signin")
    assert csrf_token(page.text)
