"""The guard refuses fields the program never collects, wherever they appear, and the value is
written nowhere: not in a table, not in a log line, not in the audit log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.logging import JsonFormatter
from tests.conftest import all_table_text

MARKER = "Xenovian-7731-Marker"


def _staff_body(**extra: Any) -> dict[str, Any]:
    return {"username": "new-clerk", "password": "a sufficiently long one", "role": "clerk",
            **extra}


CASES: dict[str, Callable[[TestClient, dict[str, str]], Any]] = {
    "json snake_case": lambda c, h: c.post("/v1/staff", headers=h,
                                           json=_staff_body(immigration_status=MARKER)),
    "json camelCase": lambda c, h: c.post("/v1/staff", headers=h,
                                          json=_staff_body(countryOfBirth=MARKER)),
    "json upper case": lambda c, h: c.post("/v1/staff", headers=h, json=_staff_body(SSN=MARKER)),
    "json kebab and mixed case": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"Place-Of-Birth": MARKER})),
    "json nested object": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(profile={"details": {"Nationality": MARKER}})),
    "json inside a list": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(contacts=[{"a": 1}, {"visaType": MARKER}])),
    "query string": lambda c, h: c.get(f"/v1/staff?citizenship={MARKER}", headers=h),
    "query string camelCase": lambda c, h: c.get(f"/v1/staff?alienNumber={MARKER}", headers=h),
    "urlencoded form": lambda c, h: c.post("/v1/auth/token", data={"username": "x",
                                                                   "A_Number": MARKER}),
    "bracketed form name": lambda c, h: c.post("/v1/auth/token",
                                               data={"person[i94Number]": MARKER}),
    "multipart form": lambda c, h: c.post("/v1/auth/token", data={"ITIN": MARKER},
                                          files={"photo": ("p.png", b"\x89PNG", "image/png")}),
    "unrouted path": lambda c, h: c.post("/v1/nowhere", json={"nationality": MARKER}),
    "json zero-width space": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"citi\u200bzenship": MARKER})),
    "json soft hyphen": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"pass\u00adport_number": MARKER})),
}


def _nested(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    document = leaf
    for _ in range(depth):
        document = {"level": document}
    return document


# Names the guard let through before it folded look-alikes, read names as words and refused what
# it could not see; each is refused now, wherever it travels.
DISGUISED: dict[str, Callable[[TestClient, dict[str, str]], Any]] = {
    "json dotted words": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"country.of.birth": MARKER})),
    "json bracketed words": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"green[card]": MARKER})),
    "json words in a camelCase name": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(applicantNationality=MARKER)),
    "json Cyrillic look-alike": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"n\u0430tionality": MARKER})),
    "json Greek look-alikes": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"\u0399\u03a4\u0399\u039d": MARKER,
                                                    "\u0391_Number": MARKER})),
    "json accents": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(**{"Nat\u00efonality": MARKER})),
    "json nested past the limit": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(extra=_nested(40, {"nationality": MARKER}))),
    "json nested past the limit, names harmless": lambda c, h: c.post(
        "/v1/staff", headers=h, json=_staff_body(extra=_nested(40, {"note": MARKER}))),
    "json nested past what the parser takes": lambda c, h: c.post(
        "/v1/staff", headers={**h, "content-type": "application/json"},
        content=b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "json with no content type": lambda c, h: c.post(
        "/v1/staff", headers={k: v for k, v in h.items() if k.lower() != "content-type"},
        content=json.dumps(_staff_body(nationality=MARKER)).encode()),
    "query dotted words": lambda c, h: c.get(f"/v1/staff?country.of.birth={MARKER}", headers=h),
    "query bracketed words": lambda c, h: c.get(f"/v1/staff?green[card]={MARKER}", headers=h),
    "query fullwidth letters": lambda c, h: c.get(
        "/v1/staff?%EF%BD%8E%EF%BD%81%EF%BD%94%EF%BD%89%EF%BD%8F%EF%BD%8E%EF%BD%81%EF%BD%8C"
        f"%EF%BD%89%EF%BD%94%EF%BD%99={MARKER}", headers=h),
    "form words across brackets": lambda c, h: c.post(
        "/v1/auth/token", data={"person[place][of][birth]": MARKER}),
    "form raw UTF-8 look-alike": lambda c, h: c.post(
        "/v1/auth/token", headers={"content-type": "application/x-www-form-urlencoded"},
        content="username=x&n\u0430tionality=".encode() + MARKER.encode()),
    "multipart words across brackets": lambda c, h: c.post(
        "/v1/auth/token", data={"birth[country]": MARKER},
        files={"photo": ("p.png", b"\x89PNG", "image/png")}),
    "header name": lambda c, h: c.get("/v1/staff", headers={**h, "X-Nationality": MARKER}),
    "header name in words": lambda c, h: c.get("/v1/staff",
                                               headers={**h, "Place-Of-Birth": MARKER}),
    "cookie name": lambda c, h: c.get("/v1/staff", headers={**h, "Cookie": f"visa_type={MARKER}"}),
    "cookie name among others": lambda c, h: c.get(
        "/signin", headers={"Cookie": f"a=1; Country_Of_Birth={MARKER}; b=2"}),
}


@pytest.mark.parametrize("case", CASES)
def test_a_forbidden_field_is_refused_and_written_nowhere(
        case: str, client: TestClient, auth_header: Callable[[str], dict[str, str]],
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    _assert_refused_and_written_nowhere(CASES[case], client, auth_header, runtime, caplog)


@pytest.mark.parametrize("case", DISGUISED)
def test_a_disguised_forbidden_field_is_refused_and_written_nowhere(
        case: str, client: TestClient, auth_header: Callable[[str], dict[str, str]],
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    _assert_refused_and_written_nowhere(DISGUISED[case], client, auth_header, runtime, caplog)


def _assert_refused_and_written_nowhere(
        send: Callable[[TestClient, dict[str, str]], Any], client: TestClient,
        auth_header: Callable[[str], dict[str, str]], runtime: Runtime,
        caplog: pytest.LogCaptureFixture) -> None:
    headers = auth_header("admin")
    caplog.set_level(logging.DEBUG)
    before = client.get("/v1/staff", headers=headers).json()
    response = send(client, headers)
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "forbidden_field"
    assert "does not collect" in body["detail"]
    assert MARKER not in response.text
    assert client.get("/v1/staff", headers=headers).json() == before
    formatter = JsonFormatter()
    # The test's own HTTP client (httpx) logs the URL it sent; that is the caller, not the service.
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_records, "the service logged nothing, so the log check would prove nothing"
    logged = "\n".join(formatter.format(r) for r in server_records)
    assert MARKER not in logged
    assert MARKER.lower() not in all_table_text(runtime).lower()


def test_similar_but_allowed_names_pass(client: TestClient,
                                        auth_header: Callable[[str], dict[str, str]]) -> None:
    headers = auth_header("admin")
    response = client.post("/v1/staff", headers=headers,
                           json={"username": "senior-citizen", "password": "long enough pass",
                                 "role": "clerk"})
    assert response.status_code == 201, response.text


def test_the_deny_list_is_data(tmp_path: Any) -> None:
    from importlib import resources

    import yaml

    data = yaml.safe_load(resources.files("privacy").joinpath("forbidden_fields.yaml").read_text())
    assert {"immigration_status", "nationality", "ssn", "country_of_birth"} <= set(data["names"])
    assert json.dumps(data)  # plain data, no code


def test_no_name_the_service_itself_takes_is_forbidden(app: Any) -> None:
    """Reading names as words must not refuse the program's own fields: every property and
    parameter in the OpenAPI document, and every form field and cookie the web pages use."""
    import re
    from pathlib import Path

    from privacy.forbidden import is_forbidden

    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            if isinstance(node.get("name"), str) and "in" in node:
                names.add(node["name"])
            for inner in node.values():
                walk(inner)
        elif isinstance(node, list):
            for inner in node:
                walk(inner)

    walk(app.openapi())
    templates = Path(__file__).parents[2] / "api" / "web" / "templates"
    for page in templates.rglob("*.html"):
        names.update(re.findall(r'\bname="([^"{]+)"', page.read_text()))
    names.update({"cityid_session", "cityid_csrf", "Idempotency-Key", "Authorization",
                  "X-Forwarded-For", "Sec-CH-UA-Platform", "Upgrade-Insecure-Requests"})
    assert len(names) > 50, "the walk found too few names to prove anything"
    assert sorted(n for n in names if is_forbidden(n)) == []
