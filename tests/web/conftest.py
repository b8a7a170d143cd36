"""Helpers for the web page tests: a browser-like client over HTTPS (the cookies are Secure),
signing in through the sign-in form, and reading the form token out of a page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import service as enrollment
from enrollment.schemas import ApplicationCreate, DocumentIn
from privacy.audit import Actor
from tests.conftest import STAFF_PASSWORD
from tests.factories import KNOWN_DOB, application_body, photo_png

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CLERK_ACTOR = Actor("web-test", "clerk")


def csrf_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has no form token"
    return found.group(1)


@pytest.fixture
def browser_client(app: FastAPI) -> Iterator[TestClient]:
    """Like a browser: keeps cookies, follows nothing on its own, talks HTTPS."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False,
                    follow_redirects=False) as test_client:
        yield test_client


SignIn = Callable[[TestClient, str], str]


@pytest.fixture
def sign_in(make_staff: Callable[..., str]) -> SignIn:
    """Signs a new account of a role in through the form; returns a page's form token."""

    def do(client: TestClient, role: str) -> str:
        username = make_staff(role)
        page = client.get("/signin")
        response = client.post("/signin", data={
            "csrf_token": csrf_token(page.text), "username": username,
            "password": STAFF_PASSWORD})
        assert response.status_code == 303, response.text
        home = client.get(response.headers["location"])
        assert home.status_code == 200, home.text
        return csrf_token(home.text)

    return do


def new_application(runtime: Runtime, *, documents: bool = False, photo: bool = False,
                    **overrides: object) -> str:
    """An application made through the service, as another desk would have; its reference."""
    with unit_of_work(runtime.sessions) as session:
        view = enrollment.create_application(
            session, desk=runtime.enrollment, actor=CLERK_ACTOR,
            data=ApplicationCreate.model_validate(application_body(**overrides)))
        today = runtime.clock.today()
        if documents:
            for document in (DocumentIn(kind="passport", expires_on=today + timedelta(days=400)),
                             DocumentIn(kind="utility_bill",
                                        issued_on=today - timedelta(days=10))):
                enrollment.add_document(session, desk=runtime.enrollment, actor=CLERK_ACTOR,
                                        reference=view.reference, document=document)
        if photo:
            enrollment.set_photo(session, desk=runtime.enrollment, actor=CLERK_ACTOR,
                                 reference=view.reference, image=photo_png())
    return view.reference


def status_form(reference: str, born: date = KNOWN_DOB, **extra: str) -> dict[str, str]:
    return {"reference": reference, "dob_month": str(born.month), "dob_day": str(born.day),
            "dob_year": str(born.year), **extra}
