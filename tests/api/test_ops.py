from __future__ import annotations

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


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'cityid_http_requests_total{method="GET",route="/healthz",status="200"}' in body
