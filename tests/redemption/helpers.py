"""Builders for partner tests: partners with keys, benefits, and cardholders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import duplicates
from enrollment import service as enrollment
from enrollment.schemas import Address, ApplicationCreate, DecisionIn, Designations, DocumentIn
from idcard import issuing
from idcard import repository as card_repository
from idcard import service as cards
from privacy.audit import Actor
from redemption import hot_repository
from tests.factories import photo_png

Headers = dict[str, str]
CLERK = Actor("test-clerk", "clerk")


def make_partner(client: TestClient, admin: Headers, partner_type: str,
                 name: str | None = None, key_days: int = 365,
                 **extra: Any) -> tuple[dict[str, Any], Headers]:
    """A partner and the Authorization header of a fresh API key for it."""
    response = client.post("/v1/partners", headers=admin, json={
        "name": name or f"{partner_type.title()} Partner", "type": partner_type, **extra})
    assert response.status_code == 201, response.text
    partner = response.json()
    key = client.post(f"/v1/partners/{partner['id']}/keys", headers=admin,
                      json={"expires_in_days": key_days})
    assert key.status_code == 201, key.text
    return partner, {"Authorization": f"Bearer {key.json()['key']}"}


def make_benefit(client: TestClient, admin: Headers, partner_id: str, today: date,
                 **fields: Any) -> dict[str, Any]:
    body = {"partner_id": partner_id, "name": "Free admission", "category": "service",
            "limit": {"count": 1, "period": "lifetime"},
            "active_from": (today - timedelta(days=30)).isoformat(),
            "active_until": (today + timedelta(days=800)).isoformat(), **fields}
    response = client.post("/v1/benefits", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def make_cardholder(runtime: Runtime, first_name: str = "Zephyrine",
                    date_of_birth: date = date(1987, 3, 14), *, address: Address | None = None,
                    veteran: bool = False) -> dict[str, Any]:
    """A resident with an active card, through the services (faster than the HTTP workflow).
    Returns the card's number, QR text, id, the holder's date of birth and resident id."""
    desk = runtime.cards
    today = runtime.clock.today()
    with unit_of_work(runtime.sessions) as session:
        view = enrollment.create_application(session, desk=desk.enrollment, actor=CLERK,
                                             data=ApplicationCreate(
                                                 first_name=first_name, last_name="Quill",
                                                 date_of_birth=date_of_birth, address=address,
                                                 designations=Designations(veteran=veteran)))
        ref = view.reference
        enrollment.add_document(session, desk=desk.enrollment, actor=CLERK, reference=ref,
                                document=DocumentIn(kind="passport",
                                                    expires_on=today + timedelta(days=900)))
        enrollment.add_document(session, desk=desk.enrollment, actor=CLERK, reference=ref,
                                document=DocumentIn(kind="utility_bill",
                                                    issued_on=today - timedelta(days=5)))
        enrollment.set_photo(session, desk=desk.enrollment, actor=CLERK, reference=ref,
                             image=photo_png())
        for step in ("submit", "review"):
            enrollment.advance(session, desk=desk.enrollment, actor=CLERK, reference=ref,
                               step=step)
        supervisor = Actor("test-supervisor", "supervisor")
        # Residents in these tests share a surname and may share a birth date: approve past
        # the duplicate check, which is tested elsewhere.
        for flag in duplicates.list_duplicates(session, desk=desk.enrollment, actor=supervisor):
            duplicates.resolve_duplicate(session, desk=desk.enrollment, actor=supervisor,
                                         flag_id=flag.id, resolution="not_duplicate")
        issuing.decide_and_issue_card(session, desk=desk, actor=CLERK, reference=ref,
                                      decision=DecisionIn(outcome="approve",
                                                          reason="rulebook_satisfied"))
        card = cards.cards_for_application(session, desk=desk, actor=CLERK, reference=ref)[0]
        stored = card_repository.get(session, card.id)
        assert stored is not None
        qr = cards.credential_of(session, desk, stored)
    return {"id": str(card.id), "card_number": card.card_number, "qr": qr,
            "date_of_birth": date_of_birth.isoformat(), "issue_number": card.issue_number,
            "resident_id": stored.resident_id}


def kill_hot_connections(runtime: Runtime) -> int:
    """Cut every connection of the lean routes' pool (a database restart, as they see it)."""
    with runtime.engine.begin() as conn:
        return len(conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"),
            {"name": hot_repository.APPLICATION_NAME}).all())
