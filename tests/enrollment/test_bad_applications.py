"""Bad applications get a clear 4xx and nothing is persisted."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment.models import Application, Resident, ResidentPhoto
from privacy.models import DataKey
from tests.conftest import all_table_text
from tests.factories import application_body

Headers = dict[str, str]
MARKER = "Xenovian-4410-Marker"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_photo_bytes": 200_000}


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


def counts(runtime: Runtime) -> tuple[int, ...]:
    with unit_of_work(runtime.sessions) as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) or 0
                     for model in (Resident, Application, DataKey, ResidentPhoto))


BAD: dict[str, tuple[dict[str, Any], int, str]] = {
    "future date of birth": ({"date_of_birth": (date.today() + timedelta(days=1)).isoformat()},
                             422, "impossible_date_of_birth"),
    "impossible date": ({"date_of_birth": "2001-02-30"}, 422, "validation_failed"),
    "200-year-old": ({"date_of_birth": "1820-01-01"}, 422, "impossible_date_of_birth"),
    "absurd name length": ({"first_name": "A" * 5000}, 422, "validation_failed"),
    "blank name": ({"last_name": "   "}, 422, "validation_failed"),
    "control characters": ({"first_name": "Ana\x00"}, 422, "validation_failed"),
    "three languages": ({"designations": {"languages": ["es", "en", "fr"]}}, 422,
                        "validation_failed"),
    "unknown gender code": ({"designations": {"gender": "Q"}}, 422, "validation_failed"),
    "both addresses": ({"care_of": {"organisation": "Shelter", "line1": "1 Main", "city": "S",
                                    "state": "NY", "postal_code": "11201"}},
                       422, "validation_failed"),
    "unknown field": ({"favourite_colour": "blue"}, 422, "unknown_field"),
    "forbidden field": ({"countryOfBirth": MARKER}, 422, "forbidden_field"),
    "forbidden nested": ({"designations": {"immigration": {"status": MARKER}}}, 422,
                         "forbidden_field"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_application_is_refused_and_nothing_is_stored(
        case: str, client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    overrides, status, code = BAD[case]
    before = counts(runtime)
    response = client.post("/v1/applications", headers=clerk, json=application_body(**overrides))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert counts(runtime) == before
    assert MARKER not in all_table_text(runtime)


def _png_bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


BAD_PHOTOS: dict[str, tuple[bytes, str, int, str]] = {
    "not an image": (b"%PDF-1.7 this is a document scan", "image/png", 422,
                     "photo_unsupported_type"),
    "a GIF": (b"GIF89a" + b"\x00" * 100, "image/png", 422, "photo_unsupported_type"),
    "fake PNG header": (b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "image/png", 422,
                        "photo_unsupported_type"),
    "oversized": (b"\xff\xd8\xff" + b"\x00" * 300_000, "image/jpeg", 422, "photo_too_large"),
    "decompression bomb": (_png_bomb(), "image/png", 422, "photo_too_many_pixels"),
}


@pytest.mark.parametrize("case", BAD_PHOTOS)
def test_a_bad_photo_is_refused_and_nothing_is_stored(case: str, client: TestClient,
                                                      clerk: Headers, runtime: Runtime) -> None:
    data, content_type, status, code = BAD_PHOTOS[case]
    ref = client.post("/v1/applications", headers=clerk, json=application_body()).json()
    before = counts(runtime)
    response = client.put(f"/v1/applications/{ref['reference']}/photo",
                          headers={**clerk, "content-type": content_type}, content=data)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert counts(runtime) == before


def test_a_body_beyond_the_upload_limit_is_refused_before_it_is_read(
        client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    ref = client.post("/v1/applications", headers=clerk, json=application_body()).json()
    response = client.put(f"/v1/applications/{ref['reference']}/photo",
                          headers={**clerk, "content-type": "image/jpeg"},
                          content=b"\xff" * (runtime.settings.max_upload_bytes + 1))
    assert response.status_code == 413


@pytest.mark.parametrize("document", [
    {"kind": "passport", "expires_on": "2001-02-30"},
    {"kind": "dna_sample"},
    {"kind": "utility_bill", "issued_on": (date.today() + timedelta(days=5)).isoformat()},
    {"kind": "utility_bill", "issued_on": (date.today() - timedelta(days=400)).isoformat()},
    {"kind": "passport"},
    {"kind": "passport", "expires_on": "2020-01-01", "issuing_country": MARKER},
])
def test_a_bad_document_is_refused_and_not_counted(document: dict[str, Any], client: TestClient,
                                                   clerk: Headers, runtime: Runtime) -> None:
    ref = client.post("/v1/applications", headers=clerk, json=application_body()).json()
    response = client.post(f"/v1/applications/{ref['reference']}/documents", headers=clerk,
                           json=document)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"]
    view = client.get(f"/v1/applications/{ref['reference']}", headers=clerk).json()
    assert view["documents"] == []
    assert MARKER not in all_table_text(runtime)
