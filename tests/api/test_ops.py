from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityid.settings import Settings


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_keys(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "keys": "ok"}


def test_readyz_is_unavailable_when_the_keyring_is_unreadable(client: TestClient,
                                                                settings: Settings) -> None:
    client.get("/readyz")
    settings.effective_keyring_path.write_text("{not a keyring")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"


METRICS_TOKEN = "scraper-token-0123456789abcdef"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"metrics_token": METRICS_TOKEN}


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert ('cityid_http_requests_total{method="GET",route="/healthz",status="200"}'
            in response.text)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789abcdef",
                                           f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"])
def test_metrics_refuse_a_caller_without_the_token(client: TestClient,
                                                   authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert "cityid_http_requests_total" not in response.text


def test_metrics_refuse_a_staff_token(client: TestClient,
                                      auth_header: Callable[[str], dict[str, str]]) -> None:
    assert client.get("/metrics", headers=auth_header("admin")).status_code == 401


def test_metrics_are_not_there_without_a_configured_token(app: FastAPI, settings: Settings,
                                                          client: TestClient) -> None:
    settings.metrics_token = ""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 404
    assert client.get("/metrics").status_code == 404


def test_production_refuses_a_short_metrics_token() -> None:
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(env="production", database_url="postgresql+psycopg://u:a-long-db-pass-1234@h/d",
                 metrics_token="short")
