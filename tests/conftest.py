"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
CITYID_TEST_DATABASE_URL names one; either way the schema is built by the Alembic migrations."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.app import create_app
from api.runtime import Runtime
from cityid.clock import Clock, system_clock
from cityid.db import Base, make_engine, unit_of_work
from cityid.migrate import upgrade
from cityid.settings import Settings
from entry.models import import_all_models
from entry.runtime import build_runtime
from idcard.service import ensure_signing_key
from partners import service as partner_service
from partners.schemas import PartnerCreate
from privacy.audit import Actor
from staff import second_factor as second_factors
from staff import service as staff_service
from staff.models import PARTNER_ROLES, Role
from tests.softhsm import SoftHsm, Token
from tests.softhsm import start as start_softhsm

TEST_DATABASE_URL = os.environ.get("CITYID_TEST_DATABASE_URL", "")
# CITYID_TEST_KEY_PROVIDER=pkcs11 runs the chosen tests with every key in a SoftHSM2 token.
TEST_KEY_PROVIDER = os.environ.get("CITYID_TEST_KEY_PROVIDER", "file")
BACKEND = "postgresql" if TEST_DATABASE_URL.startswith("postgresql") else "sqlite"
STAFF_PASSWORD = "correct horse battery staple"
# The TOTP secret of every account make_staff enrolled, and the last time step a test used,
# so each sign-in gets a code the server has not seen yet.
TOTP_SECRETS: dict[str, list[Any]] = {}
# The clock of the runtime each account was enrolled on: a test's runtime may run on a fixed
# clock, and its codes must be of that clock's time, not the machine's.
TOTP_CLOCKS: dict[str, Clock] = {}

import_all_models()


def pytest_report_header() -> str:
    return f"cityid database backend: {BACKEND}; key provider: {TEST_KEY_PROVIDER}"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """SoftHSM2 with its own configuration and token folder (tests/softhsm.py)."""
    before = os.environ.get("SOFTHSM2_CONF")
    yield start_softhsm(tmp_path_factory.mktemp("softhsm"))
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture
def token(softhsm: SoftHsm) -> Token:
    """A fresh, empty token of its own."""
    return softhsm.new_token()


def _token_settings(request: pytest.FixtureRequest) -> dict[str, object]:
    """With CITYID_TEST_KEY_PROVIDER=pkcs11: a token holding a new keyring, and the CITYID_
    variables that name it, so commands a test runs use the token too."""
    if TEST_KEY_PROVIDER != "pkcs11":
        return {}
    from entry.cli.keys import init_token
    from entry.runtime import token_provider_for

    token: Token = request.getfixturevalue("token")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name, value in token.environment().items():
        monkeypatch.setenv(name, value)
    provider = token_provider_for(Settings.model_validate(token.settings()))
    init_token(provider, system_clock.now())
    provider.close()
    return token.settings()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a template file for SQLite, a fresh database for PostgreSQL."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "cityid.db"
        upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    admin_url = make_url(TEST_DATABASE_URL)
    name = f"cityid_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.exit(f"PostgreSQL at {admin_url.render_as_string()} is not reachable: "
                    f"{type(exc).__name__}: {exc}", returncode=3)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path / "cityid.db"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"
        return
    yield database_template
    engine = make_engine(database_template)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit tables refuse TRUNCATE while they hold entries; a superuser may bypass it.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(autouse=True)
def _one_clerk_approves(request: pytest.FixtureRequest,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests let one clerk take and approve an application, as a city with the second
    pair of eyes turned off does; tests marked ``second_pair_of_eyes`` run the rule as shipped
    (on), and tests/enrollment/test_review.py proves the shipped file has it on."""
    if request.node.get_closest_marker("second_pair_of_eyes") is None:
        from enrollment import review

        monkeypatch.setattr(review, "review_rules", lambda: review.ReviewRules(
            second_pair_of_eyes=False, may_approve_own=frozenset()))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, settings_overrides: dict[str, object],
             request: pytest.FixtureRequest) -> Settings:
    # A cheaper argon2id cost keeps the suite fast; production refuses anything this low.
    values: dict[str, object] = {"env": "development", "data_dir": tmp_path / "var",
                                 "database_url": database_url, "log_json": True,
                                 "argon2_memory_kib": 8192, "argon2_time_cost": 1}
    if "key_provider" not in settings_overrides:
        values.update(_token_settings(request))
    return Settings.model_validate({**values, **settings_overrides})


@pytest.fixture
def clock() -> Clock:
    return system_clock


@pytest.fixture
def runtime(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock)
    ensure_signing_key(runtime.vault, clock.now())
    yield runtime
    runtime.limiter.reset()
    runtime.engine.dispose()


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return create_app(settings, runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    """A session in one transaction, committed when the test ends."""
    with unit_of_work(runtime.sessions) as db_session:
        yield db_session


def second_factor_code(username: str, clock: Clock | None = None) -> str | None:
    """A TOTP code for an account make_staff enrolled that no earlier sign-in used (the
    server refuses a replayed one), or None for an account without a second factor. The code
    is of ``clock``'s time, by default that of the runtime the account was enrolled on."""
    entry = TOTP_SECRETS.get(username.lower())
    if entry is None:
        return None
    clock = clock or TOTP_CLOCKS.get(username.lower(), system_clock)
    secret, last = entry
    now = int(clock.now().timestamp()) // second_factors.STEP_SECONDS
    step = now - 1 if last is None else max(now - 1, last + 1)
    assert step <= now + 1, f"{username} used every code of this time window; advance the clock"
    entry[1] = step
    return str(pyotp.TOTP(secret).at(step * second_factors.STEP_SECONDS))


def sign_in_body(username: str, password: str = STAFF_PASSWORD,
                 clock: Clock | None = None) -> dict[str, str]:
    """A sign-in request's body, with a fresh second-factor code where the account has one."""
    body = {"username": username, "password": password}
    code = second_factor_code(username, clock)
    if code is not None:
        body["second_factor"] = code
    return body


def enrol_second_factor(runtime: Runtime, username: str) -> None:
    """Enrols a TOTP authenticator for the account, as its holder would, and remembers it."""
    with unit_of_work(runtime.sessions) as db_session:
        account = staff_service.get_account_by_username(db_session, username)
        enrolment = second_factors.start_enrolment(db_session, vault=runtime.vault,
                                                   account=account, clock=runtime.clock)
        TOTP_SECRETS[account.username] = [enrolment.secret, None]
        TOTP_CLOCKS[account.username] = runtime.clock
        second_factors.confirm_enrolment(
            db_session, vault=runtime.vault, account=account, clock=runtime.clock,
            code=second_factor_code(account.username, runtime.clock) or "")


@pytest.fixture
def make_staff(runtime: Runtime) -> Callable[..., str]:
    """Creates a staff account of a role and returns its username. An account whose role must
    sign in with a second factor gets one enrolled (see second_factor_code)."""

    def make(role: str, username: str | None = None,
             partner_id: uuid.UUID | None = None) -> str:
        """A partner role's account belongs to ``partner_id``, or to a new cultural partner."""
        username = username or f"{role}-{uuid.uuid4().hex[:8]}"
        with unit_of_work(runtime.sessions) as db_session:
            if Role(role) in PARTNER_ROLES and partner_id is None:
                partner_id = partner_service.create_partner(
                    db_session, actor=Actor("test", "admin"), clock=runtime.clock,
                    data=PartnerCreate(name=f"Partner of {username}", type="cultural")).id
            staff_service.create_account(db_session, actor=Actor("test", "admin"),
                                         username=username, password=STAFF_PASSWORD,
                                         role=Role(role), clock=runtime.clock,
                                         partner_id=partner_id)
        if role in runtime.sign_in_policy.second_factor_roles:
            enrol_second_factor(runtime, username)
        return username

    return make


@pytest.fixture
def auth_header(client: TestClient, make_staff: Callable[..., str],
                runtime: Runtime) -> Callable[[str], dict[str, str]]:
    """Signs in a new account of a role through the API; returns its Authorization header."""

    def header(role: str) -> dict[str, str]:
        username = make_staff(role)
        response = client.post("/v1/auth/token", json=sign_in_body(username, clock=runtime.clock))
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return header


def all_table_text(runtime: Runtime) -> str:
    """Every row of every table, as text: for checking a value was stored nowhere."""
    chunks: list[str] = []
    with runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        chunks.append(bytes(value).decode("latin-1"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


@pytest.fixture
def key_ceremony(client: TestClient, auth_header: Callable[[str], dict[str, str]]
                 ) -> Callable[[dict[str, str], str], dict[str, str]]:
    """Starts a verifier-key export ceremony as ``starter`` for a partner and has a second,
    new admin approve it; returns the header that spends it."""

    def run(starter: dict[str, str], partner_id: str) -> dict[str, str]:
        started = client.post("/v1/key-ceremonies", headers=starter,
                              json={"kind": "verifier_export", "partner_id": partner_id})
        assert started.status_code == 201, started.text
        ceremony_id = started.json()["id"]
        approved = client.post(f"/v1/key-ceremonies/{ceremony_id}/approve",
                               headers=auth_header("admin"))
        assert approved.status_code == 200, approved.text
        return {**starter, "Key-Ceremony": ceremony_id}

    return run
