"""Helpers for the web page tests: a browser-like client over HTTPS (the cookies are Secure),
signing in through the sign-in form, and reading the form token out of a page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment import duplicates
from enrollment import service as enrollment
from enrollment.schemas import ApplicationCreate, DecisionIn, DocumentIn
from idcard import actions as card_actions
from idcard import issuing
from idcard import service as cards
from partners import repository as partner_repository
from partners import service as partner_service
from partners.schemas import PartnerCreate
from privacy.audit import Actor
from redemption import benefits as catalogue
from redemption import ledger
from redemption.schemas import BenefitCreate, Limit, RedemptionIn
from tests.conftest import sign_in_body
from tests.factories import KNOWN_DOB, application_body, photo_png
from tests.redemption.helpers import make_cardholder

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
def sign_in(make_staff: Callable[..., str], runtime: Runtime) -> SignIn:
    """Signs a new account of a role in through the form; returns a page's form token."""

    def do(client: TestClient, role: str) -> str:
        username = make_staff(role)
        page = client.get("/signin")
        response = client.post("/signin", data={
            "csrf_token": csrf_token(page.text), **sign_in_body(username, clock=runtime.clock)})
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


SUPERVISOR_ACTOR = Actor("web-test-supervisor", "supervisor")


def issued_application(runtime: Runtime) -> tuple[str, str]:
    """An application approved and its card issued, through the services: reference, card id."""
    reference = new_application(runtime, documents=True, photo=True)
    with unit_of_work(runtime.sessions) as session:
        for step in ("submit", "review"):
            enrollment.advance(session, desk=runtime.enrollment, actor=CLERK_ACTOR,
                               reference=reference, step=step)
        for flag in duplicates.list_duplicates(session, desk=runtime.enrollment,
                                               actor=SUPERVISOR_ACTOR):
            duplicates.resolve_duplicate(session, desk=runtime.enrollment, actor=SUPERVISOR_ACTOR,
                                         flag_id=flag.id, resolution="not_duplicate")
        issuing.decide_and_issue_card(session, desk=runtime.cards, actor=SUPERVISOR_ACTOR,
                                      reference=reference,
                                      decision=DecisionIn(outcome="approve",
                                                          reason="rulebook_satisfied"))
        card = cards.cards_for_application(session, desk=runtime.cards, actor=SUPERVISOR_ACTOR,
                                           reference=reference)[0]
    return reference, str(card.id)


def status_form(reference: str, born: date = KNOWN_DOB, **extra: str) -> dict[str, str]:
    return {"reference": reference, "dob_month": str(born.month), "dob_day": str(born.day),
            "dob_year": str(born.year), **extra}


# --- partners, their desks and cardholders --------------------------------------------------

ADMIN_ACTOR = Actor("web-test-admin", "admin")


def make_partner(runtime: Runtime, partner_type: str = "cultural",
                 name: str | None = None) -> uuid.UUID:
    """A partner made through the service, as the admin pages would."""
    with unit_of_work(runtime.sessions) as session:
        partner = partner_service.create_partner(
            session, actor=ADMIN_ACTOR, clock=runtime.clock,
            data=PartnerCreate(name=name or f"{partner_type.title()} {uuid.uuid4().hex[:6]}",
                               type=partner_type))
    return partner.id


def make_membership(runtime: Runtime, partner_id: uuid.UUID,
                    name: str = "Annual membership") -> uuid.UUID:
    today = runtime.clock.today()
    with unit_of_work(runtime.sessions) as session:
        benefit = catalogue.create_benefit(session, actor=ADMIN_ACTOR, clock=runtime.clock,
                                           data=BenefitCreate(
                                               partner_id=partner_id, name=name,
                                               category="membership",
                                               active_from=today - timedelta(days=30),
                                               active_until=today + timedelta(days=400)))
    return benefit.id


def revoke_card(runtime: Runtime, card_id: str) -> None:
    with unit_of_work(runtime.sessions) as session:
        card_actions.revoke(session, desk=runtime.cards, actor=CLERK_ACTOR,
                            card_id=uuid.UUID(card_id), reason="stolen")


PartnerSignIn = Callable[[TestClient, str, uuid.UUID], str]


@pytest.fixture
def sign_in_partner(make_staff: Callable[..., str], runtime: Runtime) -> PartnerSignIn:
    """Signs a new account of a partner role, of the given partner, in through the form;
    returns the desk page's form token."""

    def do(client: TestClient, role: str, partner_id: uuid.UUID) -> str:
        username = make_staff(role, partner_id=partner_id)
        page = client.get("/signin")
        response = client.post("/signin", data={
            "csrf_token": csrf_token(page.text), **sign_in_body(username, clock=runtime.clock)})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/partner"
        home = client.get("/partner")
        assert home.status_code == 200, home.text
        return csrf_token(home.text)

    return do


def fill_report(runtime: Runtime, clock: Clock) -> None:
    """Two months of redemptions at one partner: 12 and 3 in the first, 11 in the second."""
    assert isinstance(clock, FixedClock)
    holder = make_cardholder(runtime)
    partner_id = make_partner(runtime, name="Chart Museum")
    today = runtime.clock.today()
    with unit_of_work(runtime.sessions) as session:
        partner = partner_repository.get_partner(session, partner_id)
        assert partner is not None
        access = partner_service.access_of(partner)
        day_pass, tour = (catalogue.create_benefit(
            session, actor=ADMIN_ACTOR, clock=runtime.clock,
            data=BenefitCreate(partner_id=partner_id, name=name, category="service",
                               limit=Limit(count=100, period="calendar_month"),
                               active_from=today - timedelta(days=10),
                               active_until=today + timedelta(days=400))).id
            for name in ("Day pass", "Guided tour"))
    for month, plan in ((0, ((day_pass, 12), (tour, 3))), (1, ((day_pass, 11),))):
        if month:
            clock.advance(timedelta(days=31))
        for benefit_id, count in plan:
            for _ in range(count):
                with unit_of_work(runtime.sessions) as session:
                    ledger.redeem(session, desk=runtime.ledger, partner=access,
                                  idempotency_key=uuid.uuid4().hex,
                                  request=RedemptionIn(benefit_id=benefit_id, qr=holder["qr"]))
