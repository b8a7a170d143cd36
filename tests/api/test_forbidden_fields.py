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
}


@pytest.mark.parametrize("case", CASES)
def test_a_forbidden_field_is_refused_and_written_nowhere(
        case: str, client: TestClient, auth_header: Callable[[str], dict[str, str]],
        runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    headers = auth_header("admin")
    caplog.set_level(logging.DEBUG)
    before = client.get("/v1/staff", headers=headers).json()
    response = CASES[case](client, headers)
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
