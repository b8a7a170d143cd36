"""/docs is served from the app's own assets under the pages' strict Content-Security-Policy:
the page names only same-origin URLs, and in Chromium nothing is requested from elsewhere."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from playwright.sync_api import Request, expect

from api.web.pages import CONTENT_SECURITY_POLICY
from tests.web.test_browser import Tab, axe_source, base_url, browser, tab  # noqa: F401


def test_docs_names_only_same_origin_urls_and_has_the_strict_csp(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    urls = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(urls) >= 3
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
    assert "<script>" not in response.text  # no inline script for the CSP to refuse
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), url
        assert len(asset.content) > 100, url


def test_the_docs_assets_are_an_allow_list(client: TestClient) -> None:
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
    assert client.get("/docs/assets/..%2F__init__.py").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_docs_load_in_chromium_without_leaving_the_origin(tab: Tab, base_url: str  # noqa: F811
                                                          ) -> None:
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    tab.page.on("request", record)
    tab.page.goto("/docs")
    expect(tab.page.locator(".swagger-ui .info .title")).to_contain_text("cityid")
    expect(tab.page.locator(".opblock-tag-section").first).to_be_visible()
    origin = urlsplit(base_url).netloc
    assert requested and all(urlsplit(url).netloc == origin for url in requested), requested
    assert any(url.endswith("/openapi.json") for url in requested)
    refused = [m for m in tab.console if "Content Security Policy" in m]
    assert not refused, refused
