"""Web page security: the Content-Security-Policy and other headers on every page, form tokens,
the session cookie's flags, the idle timeout, and who may open which page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.access import ALL_ROLES, PARTNER
from api.deps import SESSION_COOKIE
from api.runtime import Runtime
from api.web import ACCESS
from api.web.csrf import NONCE_COOKIE
from api.web.pages import CONTENT_SECURITY_POLICY
from cityid.clock import Clock, FixedClock
from tests.conftest import STAFF_PASSWORD
from tests.factories import audit_trail
from tests.web.conftest import SignIn, csrf_token, new_application, status_form

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
STAFF_ROLES = [r for r in ALL_ROLES if r != PARTNER]
GET_PAGES = sorted(path for method, path in ACCESS if method == "GET")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "app.css" if m.group(0) == "{name}"
                  else str(uuid.uuid4()), path)


def _allowed_role(path: str) -> str | None:
    rule = ACCESS[("GET", path)]
    return None if rule.public else sorted(rule.roles)[0]


@pytest.mark.parametrize("path", GET_PAGES)
def test_every_page_carries_the_strict_policy_and_no_inline_code(
        path: str, browser_client: TestClient, sign_in: SignIn) -> None:
    role = _allowed_role(path)
    if role:
        sign_in(browser_client, role)
    response = browser_client.get(_fill(path))
    assert response.status_code not in (401, 403), response.text
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    if headers["content-type"].startswith("text/html"):
        assert headers["cache-control"] == "no-store"
        assert not INLINE_SCRIPT.search(response.text)
        assert not INLINE_STYLE.search(response.text)
        assert "http://" not in response.text and "https://" not in response.text


def test_refusals_are_pages_with_the_policy_too(browser_client: TestClient,
                                                sign_in: SignIn) -> None:
    anonymous = browser_client.get("/clerk")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'action="/signin"' in anonymous.text and 'name="next" value="/clerk"' in anonymous.text
    sign_in(browser_client, "clerk")
    wrong_role = browser_client.get("/admin/staff")
    assert wrong_role.status_code == 403
    assert wrong_role.headers["content-type"].startswith("text/html")
    assert "Your role does not allow this" in wrong_role.text


@pytest.mark.parametrize("role", [None, *STAFF_ROLES], ids=str)
def test_each_role_opens_exactly_its_pages(role: str | None, browser_client: TestClient,
                                           sign_in: SignIn) -> None:
    if role:
        sign_in(browser_client, role)
    for path in GET_PAGES:
        rule = ACCESS[("GET", path)]
        response = browser_client.get(_fill(path))
        if rule.allows(role):
            assert response.status_code not in (401, 403), f"{path} as {role}"
        elif role is None:
            assert response.status_code == 401, path
            assert 'action="/signin"' in response.text, path
        else:
            assert response.status_code == 403, f"{path} as {role}"


# --- form tokens ----------------------------------------------------------------------------


def test_a_staff_form_without_its_token_is_refused(browser_client: TestClient,
                                                   sign_in: SignIn) -> None:
    sign_in(browser_client, "clerk")
    form = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-01-02",
            "address_kind": "none"}
    missing = browser_client.post("/clerk/applications", data=form)
    assert missing.status_code == 403
    assert "did not come from this site" in missing.text
    wrong = browser_client.post("/clerk/applications", data={**form, "csrf_token": "0" * 64})
    assert wrong.status_code == 403


def test_a_token_from_another_session_is_refused(app: FastAPI, browser_client: TestClient,
                                                 sign_in: SignIn) -> None:
    other = TestClient(app, base_url="https://testserver",
                       follow_redirects=False)
    their_token = sign_in(other, "clerk")
    mine = sign_in(browser_client, "clerk")
    assert their_token != mine
    form = {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-01-02",
            "address_kind": "none"}
    assert browser_client.post("/clerk/applications",
                               data={**form, "csrf_token": their_token}).status_code == 403
    accepted = browser_client.post("/clerk/applications", data={**form, "csrf_token": mine})
    assert accepted.status_code == 303
    assert accepted.headers["location"].startswith("/clerk/applications/")


def test_a_json_post_to_a_page_is_refused(browser_client: TestClient, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    response = browser_client.post("/clerk/applications", json={"csrf_token": token})
    assert response.status_code == 415


def test_the_status_form_needs_its_double_submit_cookie(browser_client: TestClient) -> None:
    page = browser_client.get("/status")
    token = csrf_token(page.text)
    assert browser_client.cookies.get(NONCE_COOKIE)
    body = status_form("0000-0000-0000", csrf_token=token)
    assert browser_client.post("/status", data=body).status_code == 404  # accepted, not found
    browser_client.cookies.clear()
    refused = browser_client.post("/status", data=body)
    assert refused.status_code == 403
    assert "This page has expired" in refused.text
    browser_client.get("/status")  # a new cookie: the old form's token no longer matches it
    assert browser_client.post("/status", data=body).status_code == 403


def test_the_sign_in_form_needs_its_token(browser_client: TestClient,
                                          make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    browser_client.get("/signin")
    response = browser_client.post("/signin", data={"username": username,
                                                    "password": STAFF_PASSWORD})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


# --- cookies and the session ----------------------------------------------------------------


def _set_cookie(response_headers: list[tuple[str, str]], name: str) -> str:
    found = [v for k, v in response_headers if k == "set-cookie" and v.startswith(name + "=")]
    assert len(found) == 1, found
    return found[0]


def test_the_session_cookie_is_httponly_secure_strict(browser_client: TestClient,
                                                      make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    page = browser_client.get("/signin")
    nonce = _set_cookie(page.headers.multi_items(), NONCE_COOKIE).lower()
    assert "httponly" in nonce and "secure" in nonce and "samesite=strict" in nonce
    response = browser_client.post("/signin", data={
        "csrf_token": csrf_token(page.text), "username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/clerk"
    cookie = _set_cookie(response.headers.multi_items(), SESSION_COOKIE)
    flags = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= set(flags)
    assert not any(f.startswith(("max-age", "expires")) for f in flags)  # a session cookie


def test_a_wrong_password_shows_the_form_again(browser_client: TestClient,
                                               make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    page = browser_client.get("/signin")
    response = browser_client.post("/signin", data={
        "csrf_token": csrf_token(page.text), "username": username, "password": "not it at all"})
    assert response.status_code == 401
    assert "The username or password is wrong" in response.text
    assert f'value="{username}"' in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
        browser_client: TestClient, make_staff: Callable[..., str]) -> None:
    for asked, lands in (("/clerk/applications/new", "/clerk/applications/new"),
                         ("//evil.example/x", "/clerk"), ("https://evil.example", "/clerk")):
        username = make_staff("clerk")
        page = browser_client.get("/signin")
        response = browser_client.post("/signin", data={
            "csrf_token": csrf_token(page.text), "username": username,
            "password": STAFF_PASSWORD, "next": asked})
        assert response.headers["location"] == lands


def test_the_session_ends_after_the_idle_timeout(browser_client: TestClient, sign_in: SignIn,
                                                 clock: FixedClock, runtime: Runtime) -> None:
    sign_in(browser_client, "clerk")
    idle = timedelta(minutes=runtime.settings.web_idle_minutes)
    clock.advance(idle - timedelta(minutes=1))
    assert browser_client.get("/clerk").status_code == 200  # use resets the idle clock
    clock.advance(idle - timedelta(minutes=1))
    assert browser_client.get("/clerk").status_code == 200
    clock.advance(idle + timedelta(minutes=1))
    expired = browser_client.get("/clerk")
    assert expired.status_code == 401
    assert "period of inactivity" in expired.text
    assert 'action="/signin"' in expired.text
    # The dead cookie is cleared.
    assert f'{SESSION_COOKIE}=""' in expired.headers.get("set-cookie", "")


def test_signing_out_revokes_the_session(browser_client: TestClient, sign_in: SignIn) -> None:
    token = sign_in(browser_client, "clerk")
    session_value = browser_client.cookies.get(SESSION_COOKIE)
    response = browser_client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    browser_client.cookies.set(SESSION_COOKIE, session_value or "", domain="testserver")
    assert browser_client.get("/clerk").status_code == 401


def test_the_api_does_not_take_the_session_cookie(browser_client: TestClient,
                                                  sign_in: SignIn) -> None:
    sign_in(browser_client, "clerk")
    assert browser_client.get("/v1/rulebook/documents").status_code == 401


def test_only_the_app_s_own_assets_are_served(browser_client: TestClient) -> None:
    css = browser_client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"]
    for name in ("..%2Fpages.py", "pages.py", "%2e%2e%2f%2e%2e%2fpyproject.toml", "locale"):
        assert browser_client.get(f"/static/{name}").status_code == 404, name


def test_a_status_check_keeps_the_reference_out_of_the_url(browser_client: TestClient,
                                                           runtime: Runtime) -> None:
    page = browser_client.get("/status?lang=es")
    assert 'method="post" action="/status"' in page.text
    reference = new_application(runtime)
    response = browser_client.post("/status", data=status_form(
        reference, csrf_token=csrf_token(page.text), lang="es"))
    assert response.status_code == 200
    assert reference not in str(response.url)


def test_a_failed_sign_in_at_the_web_form_is_audited_too(
        browser_client: TestClient, make_staff: Callable[..., str], runtime: Runtime) -> None:
    username = make_staff("clerk")
    page = browser_client.get("/signin")
    refused = browser_client.post("/signin", data={
        "csrf_token": csrf_token(page.text), "username": username,
        "password": "not the password"})
    assert refused.status_code == 401
    assert [e.detail for e in audit_trail(runtime)
            if e.action == "auth.sign_in_failed"] == [{"reason": "wrong_password"}]
