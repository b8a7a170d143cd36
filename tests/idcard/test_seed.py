"""`cityid seed`: synthetic cardholders that the normal services read, verify and find."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.runtime import Runtime
from cityid.db import Base, unit_of_work
from enrollment import repository as enrollment_repository
from enrollment import service as enrollment
from enrollment.models import Application, Resident
from enrollment.schemas import ApplicationCreate
from idcard import seed as seeding
from idcard import service as cards
from idcard import statuslist
from idcard.models import Card
from idcard.offline import offline_check
from idcard.seed_rows import COLUMNS
from privacy import audit
from privacy.models import AuditEntry
from tests.conftest import BACKEND
from tests.redemption.helpers import CLERK, Headers, make_cardholder, make_partner

COUNT = 20


def run_seed(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    from cityid.settings import get_settings
    from entry import cli

    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.main, ["seed", *args])
    finally:
        get_settings.cache_clear()


@pytest.fixture
def seeded(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Result:
    result = run_seed(runtime, monkeypatch, "--cardholders", str(COUNT), "--workers", "1")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def a_seeded_card(runtime: Runtime) -> tuple[Card, str]:
    with unit_of_work(runtime.sessions) as session:
        card = session.scalars(select(Card).limit(1)).one()
        return card, cards.credential_of(session, runtime.cards, card)


def test_seeding_in_worker_processes_makes_n_active_cards_in_audited_batches(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_seed(runtime, monkeypatch, "--cardholders", str(COUNT), "--batch", "8",
                      "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "seeding cardholders" in result.output  # the progress bar's label
    assert f"seeded {COUNT} synthetic cardholders" in result.output
    with unit_of_work(runtime.sessions) as session:
        statuses = session.execute(select(Card.status, func.count()).group_by(Card.status)).all()
        assert [tuple(s) for s in statuses] == [("active", COUNT)]
        assert session.scalar(select(func.count()).select_from(Resident)) == COUNT
        assert set(session.scalars(select(Application.status))) == {"card_issued"}
        batches = session.scalars(select(AuditEntry.detail)
                                  .where(AuditEntry.action == "seed.batch")).all()
        assert sorted(b["count"] for b in batches) == [4, 8, 8]
        assert len(set(session.scalars(select(Card.status_index)))) == COUNT
        assert len(set(session.scalars(select(Card.card_number_index)))) == COUNT
        assert audit.verify_chain(session).ok
        # The bulk load ends with ANALYZE: the planner knows how many cards there are.
        if BACKEND == "postgresql":
            assert session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'cards'")
                                  ) == COUNT
        else:
            assert session.scalar(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'cards'"))


def test_a_seeded_card_verifies_online_for_a_partner(
        runtime: Runtime, seeded: Result, client: TestClient, admin: Headers) -> None:
    card, qr = a_seeded_card(runtime)
    _, key = make_partner(client, admin, "bank")
    response = client.post("/v1/verify", headers=key, json={"qr": qr})
    assert response.status_code == 200, response.text
    assert (response.json()["result"], response.json()["reason"]) == ("valid", "ok")
    with unit_of_work(runtime.sessions) as session:
        holder = enrollment.read_holder(session, vault=runtime.vault,
                                        resident_id=card.resident_id)
        assert response.json()["disclosed"]["card_number"] == cards.card_number_of(
            session, runtime.cards, card)
    assert response.json()["disclosed"]["full_name"] == holder.full_name


def test_a_seeded_card_verifies_offline_with_the_published_keys_and_list(
        runtime: Runtime, seeded: Result, client: TestClient) -> None:
    _, qr = a_seeded_card(runtime)
    jwks = client.get("/.well-known/cityid/jwks.json").json()
    status_document = client.get("/.well-known/cityid/status-list").content
    verdict = offline_check(qr_text=qr, image=None, jwks=jwks, status_document=status_document,
                            now=datetime.now(UTC),
                            verifier_keys=cards.verifier_keys(runtime.cards))
    assert verdict.reason.value == "ok"


def test_a_seeded_resident_reads_back_and_is_found_by_reference_and_as_a_duplicate(
        runtime: Runtime, seeded: Result) -> None:
    card, _ = a_seeded_card(runtime)
    desk = runtime.cards.enrollment
    with unit_of_work(runtime.sessions) as session:
        holder = enrollment.read_holder(session, vault=runtime.vault,
                                        resident_id=card.resident_id)
        assert card.application_id is not None
        application = enrollment_repository.get_application(session, card.application_id)
        assert application is not None
        view = enrollment.view_application(session, desk=desk, application=application)
        found = enrollment.find_application(session, desk=desk, reference=view.reference)
        again = enrollment.create_application(session, desk=desk, actor=CLERK, data=(
            ApplicationCreate(first_name=holder.first_name, last_name=holder.last_name,
                              date_of_birth=holder.date_of_birth)))
    assert (view.first_name, view.last_name) == (holder.first_name, holder.last_name)
    assert view.tally.satisfied and view.status == "card_issued"
    assert found.id == application.id
    assert again.possible_duplicate  # the seeded person_index is the real one


def test_seeding_refuses_more_cards_than_half_the_status_list(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    half = runtime.settings.status_list_size // 2
    result = run_seed(runtime, monkeypatch, "--cardholders", str(half + 1))
    assert result.exit_code == 1
    assert "raise CITYID_STATUS_LIST_SIZE" in result.output
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Card)) == 0


def test_a_card_issued_while_seeding_is_not_given_its_status_index_again(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_plan = seeding.plan(runtime.sessions, desk=runtime.cards, count=COUNT)
    make_cardholder(runtime)  # issued after the plan read which indexes were taken
    with unit_of_work(runtime.sessions) as session:
        taken = session.scalars(select(Card.status_index)).one()
    handed_out = [taken]
    drawn = statuslist.random_free_index

    def first_the_taken_one(free: Callable[[int], bool], *, size: int) -> int:
        return handed_out.pop() if handed_out else drawn(free, size=size)

    monkeypatch.setattr("idcard.seed.random_free_index", first_the_taken_one)
    seeding.seed(runtime.sessions, seed_plan, desk=runtime.cards, actor=CLERK, batch=COUNT,
                 workers=1)
    assert not handed_out  # the clashing index was handed out, refused, and drawn again
    with unit_of_work(runtime.sessions) as session:
        indexes = session.scalars(select(Card.status_index)).all()
        assert len(indexes) == len(set(indexes)) == COUNT + 1
        assert audit.verify_chain(session).ok


def test_seed_rows_fill_every_column_of_their_tables() -> None:
    for table, columns in COLUMNS.items():
        assert set(columns) == set(Base.metadata.tables[table].c.keys()), table
