from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from staff.models import StaffAccount
from tests.conftest import STAFF_PASSWORD, all_table_text, enrol_second_factor, sign_in_body
from tests.factories import audit_trail

FIXED = FixedClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def clock() -> Clock:
    return FixedClock(FIXED.now())


def _sign_in(client: TestClient, username: str,
             password: str = STAFF_PASSWORD) -> httpx.Response:
    response: httpx.Response = client.post("/v1/auth/token",
                                           json=sign_in_body(username, password, FIXED))
    return response


def test_sign_in_returns_an_opaque_token_that_is_stored_hashed(
        client: TestClient, make_staff: Callable[..., str], runtime: Runtime) -> None:
    username = make_staff("clerk")
    response = _sign_in(client, username)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token.startswith("cst_") and len(token) > 40
    assert response.json()["role"] == "clerk"
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == username
    assert token not in all_table_text(runtime)


@pytest.mark.parametrize("password", [
    "correct-horse-battery-staple-" * 2 + "0123456789abcde",  # 73 bytes
    "ünïcödé pässwörd " * 8,                              # 200+ bytes of UTF-8
    "a long pass phrase with spaces " * 30,            # ~900 characters
])
def test_passwords_longer_than_72_bytes_work(password: str, client: TestClient,
                                              make_staff: Callable[..., str], runtime: Runtime
                                              ) -> None:
    from cityid.db import unit_of_work
    from privacy.audit import Actor
    from staff import service
    from staff.models import Role

    with unit_of_work(runtime.sessions) as session:
        service.create_account(session, actor=Actor("t", "admin"), username="longpass",
                               password=password, role=Role.CLERK)
    assert _sign_in(client, "longpass", password).status_code == 200
    assert _sign_in(client, "longpass", password[:-1]).status_code == 401


def test_an_absurdly_long_password_is_refused_cleanly(client: TestClient) -> None:
    response = _sign_in(client, "someone", "x" * 5000)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


def test_sign_out_revokes_the_token(client: TestClient, make_staff: Callable[..., str]) -> None:
    token = _sign_in(client, make_staff("supervisor")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    refused = client.get("/v1/auth/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"


def test_tokens_expire(client: TestClient, make_staff: Callable[..., str], clock: FixedClock,
                       runtime: Runtime) -> None:
    token = _sign_in(client, make_staff("clerk")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(runtime.token_ttl - timedelta(seconds=1))
    assert client.get("/v1/auth/me", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client.get("/v1/auth/me", headers=headers).status_code == 401


def test_a_deactivated_account_loses_its_tokens(client: TestClient,
                                               make_staff: Callable[..., str],
                                               auth_header: Callable[[str], dict[str, str]]
                                               ) -> None:
    username = make_staff("clerk")
    token = _sign_in(client, username).json()["access_token"]
    admin = auth_header("admin")
    staff_id = next(s["id"] for s in client.get("/v1/staff", headers=admin).json()
                    if s["username"] == username)
    assert client.patch(f"/v1/staff/{staff_id}", headers=admin,
                        json={"active": False}).status_code == 200
    assert client.get("/v1/auth/me",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _sign_in(client, username).status_code == 401


def test_repeated_failed_sign_ins_are_throttled(client: TestClient,
                                                make_staff: Callable[..., str],
                                                runtime: Runtime) -> None:
    username = make_staff("clerk")
    for _ in range(runtime.settings.login_max_failures):
        assert _sign_in(client, username, "wrong password!").status_code == 401
    throttled = _sign_in(client, username)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "sign_in_throttled"
    assert 0 < int(throttled.headers["Retry-After"]) <= runtime.settings.\
        login_failure_window_seconds


def test_unknown_and_wrong_password_look_the_same(client: TestClient,
                                                  make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    wrong = _sign_in(client, username, "not the password")
    unknown = _sign_in(client, "nobody-here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_failed_sign_ins_are_audited_without_the_name_typed(
        client: TestClient, make_staff: Callable[..., str], runtime: Runtime) -> None:
    username = make_staff("clerk")
    assert _sign_in(client, username, "not the password").status_code == 401
    assert _sign_in(client, "Marisol Quintero", "not the password").status_code == 401
    assert _sign_in(client, username).status_code == 200
    entries = [e for e in audit_trail(runtime) if e.action.startswith("auth.")]
    with unit_of_work(runtime.sessions) as session:
        account = session.scalars(select(StaffAccount).where(
            StaffAccount.username == username)).one()
    assert [(e.action, e.subject, e.detail) for e in entries] == [
        ("auth.sign_in_failed", f"staff:{account.id}", {"reason": "wrong_password"}),
        ("auth.sign_in_failed", None, {"reason": "unknown_account"}),
        ("auth.signed_in", f"staff:{account.id}", {}),
    ]
    assert "Marisol" not in all_table_text(runtime)



def test_the_cli_adds_staff_with_the_password_from_stdin(runtime: Runtime, client: TestClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["staff", "add", "First.Admin", "--role", "admin"],
                                    input="the first admin's pass phrase\n")
        weak = CliRunner().invoke(cli.main, ["staff", "add", "weakling", "--role", "clerk"],
                                  input="short\n")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # An admin signs in with a second factor, enrolled with the same password first.
    refused = _sign_in(client, "first.admin", "the first admin's pass phrase")
    assert refused.json()["code"] == "second_factor_enrolment_required"
    enrol_second_factor(runtime, "first.admin")
    assert _sign_in(client, "first.admin", "the first admin's pass phrase").status_code == 200
    assert weak.exit_code == 1
    assert "password must be" in weak.output


def test_a_browser_session_ends_after_the_idle_timeout(runtime: Runtime, clock: FixedClock,
                                                       make_staff: Callable[..., str]) -> None:
    from cityid.db import unit_of_work
    from staff import service
    from staff.errors import InvalidToken

    username = make_staff("clerk")
    with unit_of_work(runtime.sessions) as session:
        token = service.sign_in(session, username=username, password=STAFF_PASSWORD,
                                client="t", limiter=runtime.limiter,
                                policy=runtime.sign_in_policy, ttl=runtime.token_ttl,
                                clock=clock).value
    idle = timedelta(minutes=runtime.settings.web_idle_minutes)
    for step in (idle - timedelta(minutes=1), idle - timedelta(minutes=1)):
        clock.advance(step)  # used within the idle time: each use keeps it alive
        with unit_of_work(runtime.sessions) as session:
            service.resolve_token(session, token, clock=clock, idle=idle)
    clock.advance(idle + timedelta(seconds=1))
    with unit_of_work(runtime.sessions) as session, pytest.raises(InvalidToken):
        service.resolve_token(session, token, clock=clock, idle=idle)
