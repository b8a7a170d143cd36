"""The applicant's public status check."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from enrollment import i18n
from tests.factories import KNOWN_DOB, application_body

Headers = dict[str, str]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"status_checks_per_reference": 3, "status_checks_per_client": 50}


@pytest.fixture
def reference(client: TestClient, auth_header: Callable[[str], Headers]) -> str:
    response = client.post("/v1/applications", headers=auth_header("clerk"),
                           json=application_body())
    return str(response.json()["reference"])


def check(client: TestClient, reference: str, dob: str = KNOWN_DOB.isoformat(),
          headers: dict[str, str] | None = None, **extra: object) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/status", json={"reference": reference, "date_of_birth": dob, **extra},
        headers=headers or {})
    return response


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_the_status_is_answered_in_each_language(lang: str, client: TestClient,
                                                 reference: str) -> None:
    response = check(client, reference, lang=lang)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert body["lang"] == lang
    assert (body["label"], body["next_step"]) == i18n.status_message("draft", lang)
    assert body["dir"] == ("rtl" if lang == "ar" else "ltr")


def test_accept_language_picks_the_language(client: TestClient, reference: str) -> None:
    body = check(client, reference, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).json()
    assert body["lang"] == "es"
    assert body["label"] == i18n.status_message("draft", "es")[0]


def test_the_answer_holds_no_personal_data(client: TestClient, reference: str) -> None:
    body = check(client, reference).json()
    assert set(body) == {"status", "label", "next_step", "lang", "dir"}
    text = str(body)
    for value in ("Zephyrine", "Quillfeather", "Evergreen", KNOWN_DOB.isoformat(), reference):
        assert value not in text


def test_a_wrong_birth_date_and_an_unknown_reference_get_identical_answers(
        client: TestClient, reference: str) -> None:
    wrong_dob = check(client, reference, dob="1990-01-01", lang="es")
    unknown = check(client, "0000-0000-0000", lang="es")
    malformed = check(client, "not a reference", lang="es")
    assert wrong_dob.status_code == unknown.status_code == malformed.status_code == 404
    assert wrong_dob.json() == unknown.json() == malformed.json()
    assert wrong_dob.headers["content-type"] == unknown.headers["content-type"]
    assert wrong_dob.json()["detail"] == i18n.not_found_message("es")


def test_checks_are_throttled_per_reference_after_the_configured_tries(
        client: TestClient, reference: str) -> None:
    for _ in range(3):
        assert check(client, reference, dob="1990-01-01").status_code == 404
    throttled = check(client, reference)  # even the right date of birth waits now
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "status_check_throttled"
    assert int(throttled.headers["Retry-After"]) > 0
    assert check(client, "0000-0000-0000").status_code == 404  # other references go on


def test_the_reference_never_travels_in_the_url(client: TestClient, reference: str) -> None:
    assert client.get(f"/v1/status?reference={reference}").status_code == 405
