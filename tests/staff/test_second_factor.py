"""Staff sign in with a second factor where their role needs one: TOTP codes (each used once)
and single-use recovery codes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pyotp
import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from tests.conftest import STAFF_PASSWORD, TOTP_SECRETS, all_table_text, second_factor_code
from tests.factories import audit_trail
from tests.web.conftest import csrf_token

MakeStaff = Callable[..., str]


def _token(client: TestClient, username: str, code: str | None = None) -> dict[str, str]:
    body = {"username": username, "password": STAFF_PASSWORD}
    if code is not None:
        body["second_factor"] = code
    response = client.post("/v1/auth/token", json=body)
    return {"status": str(response.status_code), "code": response.json().get("code", "")}


def _forget_enrolment(username: str) -> None:
    TOTP_SECRETS.pop(username, None)


@pytest.mark.parametrize("role", ["supervisor", "admin", "auditor"])
def test_a_role_that_needs_a_second_factor_never_signs_in_on_a_password_alone(
        role: str, client: TestClient, make_staff: MakeStaff, runtime: Runtime) -> None:
    username = make_staff(role)  # enrolled by the fixture, as its holder would
    assert _token(client, username) == {"status": "401", "code": "second_factor_required"}
    assert _token(client, username, "000000")["code"] == "invalid_second_factor"
    assert _token(client, username, second_factor_code(username))["status"] == "200"


@pytest.mark.parametrize("role", ["supervisor", "admin", "auditor"])
def test_an_account_that_needs_a_second_factor_must_enrol_before_signing_in(
        role: str, client: TestClient, runtime: Runtime) -> None:
    from privacy.audit import Actor
    from staff import service
    from staff.models import Role

    with unit_of_work(runtime.sessions) as session:
        service.create_account(session, actor=Actor("t", "admin"), username=f"new-{role}",
                               password=STAFF_PASSWORD, role=Role(role))
    refused = _token(client, f"new-{role}")
    assert refused == {"status": "401", "code": "second_factor_enrolment_required"}


@pytest.mark.parametrize("role", ["clerk", "partner_desk"])
def test_clerks_and_desk_accounts_may_sign_in_without_one_by_default(
        role: str, client: TestClient, make_staff: MakeStaff) -> None:
    assert _token(client, make_staff(role))["status"] == "200"


@pytest.mark.parametrize("settings_overrides", [{"second_factor_for_all_staff": True}])
@pytest.mark.parametrize("role", ["clerk", "partner_desk"])
def test_the_city_can_require_it_of_clerks_and_desk_accounts_too(
        role: str, client: TestClient, make_staff: MakeStaff) -> None:
    username = make_staff(role)
    assert username in TOTP_SECRETS  # the setting made the fixture enrol it
    assert _token(client, username)["code"] == "second_factor_required"
    assert _token(client, username, second_factor_code(username))["status"] == "200"


def test_enrolment_shows_the_secret_once_seals_it_and_gives_recovery_codes(
        client: TestClient, make_staff: MakeStaff, runtime: Runtime) -> None:
    username = make_staff("clerk")  # a clerk may enrol by choice
    credentials = {"username": username, "password": STAFF_PASSWORD}
    started = client.post("/v1/auth/second-factor/enrolment", json=credentials)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert started.json()["qr_svg"].lstrip().startswith("<?xml") and "<svg" in started.json()[
        "qr_svg"]
    assert secret not in all_table_text(runtime)  # sealed under the account's data key
    wrong = client.post("/v1/auth/second-factor/confirmation", json={**credentials,
                                                                   "code": "123456"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_second_factor"
    confirmed = client.post("/v1/auth/second-factor/confirmation",
                            json={**credentials, "code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    stored = all_table_text(runtime)
    assert not any(c in stored or c.replace("-", "") in stored for c in codes)
    again = client.post("/v1/auth/second-factor/enrolment", json=credentials)
    assert again.status_code == 409
    assert again.json()["code"] == "second_factor_already_enrolled"
    # Enrolled by choice, the clerk is now always asked for a code.
    assert _token(client, username)["code"] == "second_factor_required"


def test_a_replayed_code_is_refused(client: TestClient, make_staff: MakeStaff) -> None:
    username = make_staff("supervisor")
    code = second_factor_code(username)
    assert _token(client, username, code)["status"] == "200"
    assert _token(client, username, code) == {"status": "401", "code": "invalid_second_factor"}
    # An older code than the last one used is a replay too.
    secret = TOTP_SECRETS[username][0]
    older = pyotp.TOTP(secret).at((TOTP_SECRETS[username][1] - 1) * 30)
    assert _token(client, username, older)["code"] == "invalid_second_factor"


def test_a_recovery_code_works_once(client: TestClient, runtime: Runtime) -> None:
    from privacy.audit import Actor
    from staff import second_factor, service
    from staff.models import Role

    with unit_of_work(runtime.sessions) as session:
        account = service.create_account(session, actor=Actor("t", "admin"),
                                         username="lost-phone", password=STAFF_PASSWORD,
                                         role=Role.ADMIN)
        secret = second_factor.start_enrolment(session, vault=runtime.vault,
                                               account=account).secret
        codes = second_factor.confirm_enrolment(session, vault=runtime.vault, account=account,
                                                code=pyotp.TOTP(secret).now())
    assert _token(client, "lost-phone", codes[3].upper())["status"] == "200"
    assert _token(client, "lost-phone", codes[3])["code"] == "invalid_second_factor"
    assert _token(client, "lost-phone", codes[4].replace("-", ""))["status"] == "200"
    used = [e.detail for e in audit_trail(runtime) if e.action == "auth.recovery_code_used"]
    assert used == [{"left": 9}, {"left": 8}]


def test_an_admin_resets_a_lost_second_factor(client: TestClient, make_staff: MakeStaff,
                                              auth_header: Callable[[str], dict[str, str]]
                                              ) -> None:
    username = make_staff("auditor")
    admin = auth_header("admin")
    staff_id = next(s["id"] for s in client.get("/v1/staff", headers=admin).json()
                    if s["username"] == username)
    assert client.post(f"/v1/staff/{staff_id}/second-factor/reset",
                       headers=admin).status_code == 204
    _forget_enrolment(username)
    assert _token(client, username)["code"] == "second_factor_enrolment_required"
    again = client.post(f"/v1/staff/{staff_id}/second-factor/reset", headers=admin)
    assert again.status_code == 404


def test_the_web_sign_in_asks_for_the_code(client: TestClient, make_staff: MakeStaff,
                                           app: object) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    browser = TestClient(app, base_url="https://testserver", follow_redirects=False)
    username = make_staff("supervisor")
    page = browser.get("/signin")
    assert 'name="second_factor"' in page.text
    refused = browser.post("/signin", data={"csrf_token": csrf_token(page.text),
                                            "username": username, "password": STAFF_PASSWORD})
    assert refused.status_code == 401
    assert "authenticator app" in refused.text
    assert "cityid_session" not in refused.headers.get("set-cookie", "")
    page = browser.get("/signin")
    signed_in = browser.post("/signin", data={
        "csrf_token": csrf_token(page.text), "username": username, "password": STAFF_PASSWORD,
        "second_factor": second_factor_code(username) or ""})
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/clerk"


def test_a_new_admin_enrols_from_the_browser_then_signs_in(runtime: Runtime,
                                                            app: object) -> None:
    from fastapi import FastAPI

    from privacy.audit import Actor
    from staff import service
    from staff.models import Role

    assert isinstance(app, FastAPI)
    with unit_of_work(runtime.sessions) as session:
        service.create_account(session, actor=Actor("t", "admin"), username="web-admin",
                               password=STAFF_PASSWORD, role=Role.ADMIN)
    browser = TestClient(app, base_url="https://testserver", follow_redirects=False)
    page = browser.get("/signin/second-factor")
    assert page.status_code == 200
    wrong = browser.post("/signin/second-factor", data={
        "csrf_token": csrf_token(page.text), "username": "web-admin", "password": "nope nope"})
    assert wrong.status_code == 401
    shown = browser.post("/signin/second-factor", data={
        "csrf_token": csrf_token(page.text), "username": "web-admin",
        "password": STAFF_PASSWORD})
    assert shown.status_code == 200 and "<svg" in shown.text
    found = re.search(r"<code>([A-Z2-7]{32})</code>", shown.text)
    assert found is not None
    totp = pyotp.TOTP(found.group(1))
    done = browser.post("/signin/second-factor/confirm", data={
        "csrf_token": csrf_token(shown.text), "username": "web-admin",
        "password": STAFF_PASSWORD, "code": totp.at(runtime.clock.now().timestamp() - 30)})
    assert done.status_code == 200, done.text
    assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", done.text)) == 10
    page = browser.get("/signin")
    signed_in = browser.post("/signin", data={
        "csrf_token": csrf_token(page.text), "username": "web-admin",
        "password": STAFF_PASSWORD, "second_factor": totp.now()})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
