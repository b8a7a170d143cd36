"""Retention purges what is due, never what is held, and crypto-shreds what it purges."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment import service as enrollment
from enrollment.models import Application, Resident
from enrollment.schemas import ApplicationCreate, DecisionIn
from oversight import retention
from privacy import audit
from privacy.audit import Actor
from privacy.errors import DataKeyShredded
from privacy.models import DataKey
from tests.factories import audit_trail
from tests.redemption.helpers import make_cardholder

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CLERK = Actor("clerk-1", "clerk")
Headers = dict[str, str]


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


def denied_application(runtime: Runtime, first_name: str = "Deniz") -> tuple[str, object]:
    desk = runtime.enrollment
    with unit_of_work(runtime.sessions) as session:
        view = enrollment.create_application(session, desk=desk, actor=CLERK, data=(
            ApplicationCreate(first_name=first_name, last_name="Purgeable",
                              date_of_birth=date(1990, 5, 6))))
        enrollment.advance(session, desk=desk, actor=CLERK, reference=view.reference,
                           step="submit")
        enrollment.decide(session, desk=desk, actor=CLERK, reference=view.reference,
                          decision=DecisionIn(outcome="deny", reason="insufficient_documents"))
        application = enrollment.find_application(session, desk=desk, reference=view.reference)
        return view.reference, application.resident_id


def run(runtime: Runtime, dry_run: bool = False) -> retention.RetentionReport:
    return retention.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock,
                         rules=retention.load_rules(), dry_run=dry_run, batch=7)


def count(runtime: Runtime, model: type) -> int:
    with unit_of_work(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_denied_application_is_purged_after_90_days_and_its_ciphertext_is_dead(
        runtime: Runtime, clock: FixedClock) -> None:
    _, resident_id = denied_application(runtime)
    with unit_of_work(runtime.sessions) as session:
        backup = session.get(Resident, resident_id)
        assert backup is not None
        sealed_name = backup.first_name_enc  # as a backup tape would still have it
    clock.advance(timedelta(days=89))
    assert run(runtime).applications_purged == 0
    clock.advance(timedelta(days=2))
    report = run(runtime)
    assert (report.applications_purged, report.residents_purged) == (1, 1)
    assert count(runtime, Application) == count(runtime, Resident) == count(runtime, DataKey) == 0
    with unit_of_work(runtime.sessions) as session:
        with pytest.raises(DataKeyShredded):
            runtime.vault.open_data_key(session, resident_id)  # type: ignore[arg-type]
        assert audit.verify_chain(session).ok
    # Not even the key-encryption keys open the backed-up ciphertext: its data key is gone.
    for kek in runtime.vault.keyring.keks.values():
        assert kek is not None
        with pytest.raises(InvalidTag):
            AESGCM(kek).decrypt(sealed_name[1:13], sealed_name[13:], None)


def test_a_held_application_is_never_purged(runtime: Runtime, clock: FixedClock,
                                            client: TestClient,
                                            auth_header: Callable[[str], Headers]) -> None:
    reference, _ = denied_application(runtime)
    denied_application(runtime, "Other")
    supervisor = auth_header("supervisor")
    clerk = auth_header("clerk")
    body = {"scope": "resident", "reason": "litigation"}
    assert client.post(f"/v1/applications/{reference}/holds", headers=clerk,
                       json=body).status_code == 403
    placed = client.post(f"/v1/applications/{reference}/holds", headers=supervisor, json=body)
    assert placed.status_code == 201, placed.text
    clock.advance(timedelta(days=120))
    report = run(runtime)
    assert (report.applications_purged, report.held) == (1, 1)
    assert count(runtime, Application) == 1
    actions = [e.action for e in audit_trail(runtime)]
    assert "hold.placed" in actions
    release = client.post(f"/v1/holds/{placed.json()['id']}/release",
                          headers=auth_header("supervisor"))
    assert release.status_code == 200
    assert run(runtime).applications_purged == 1


def test_a_dry_run_changes_nothing(runtime: Runtime, clock: FixedClock) -> None:
    denied_application(runtime)
    clock.advance(timedelta(days=91))
    assert run(runtime, dry_run=True).applications_purged == 1
    assert count(runtime, Application) == 1


def test_two_concurrent_runs_purge_each_record_once_and_neither_fails(
        runtime: Runtime, clock: FixedClock) -> None:
    for i in range(24):
        denied_application(runtime, f"Person{i}")
    clock.advance(timedelta(days=91))
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: run(runtime), range(2)))
    assert sum(r.applications_purged for r in reports) == 24
    assert sum(r.residents_purged for r in reports) == 24
    assert count(runtime, Application) == count(runtime, Resident) == 0
    with unit_of_work(runtime.sessions) as session:
        assert audit.verify_chain(session).ok


def test_a_cardholder_is_purged_years_after_the_last_card_expired(
        runtime: Runtime, clock: FixedClock) -> None:
    make_cardholder(runtime)
    clock.advance(timedelta(days=5 * 365 + 30))  # the card has expired
    assert run(runtime).residents_purged == 0
    clock.advance(timedelta(days=3 * 366))
    assert run(runtime).residents_purged == 1
    assert count(runtime, Resident) == 0


def test_a_cancelled_card_keeps_its_holder_until_the_credential_is_dead(
        runtime: Runtime, clock: FixedClock, client: TestClient,
        auth_header: Callable[[str], Headers]) -> None:
    card = make_cardholder(runtime)
    client.post(f"/v1/cards/{card['id']}/revoke", headers=auth_header("supervisor"),
                json={"reason": "cancelled"})
    clock.advance(timedelta(days=4 * 366))  # 3 years after cancelling, but not yet expired
    assert run(runtime).residents_purged == 0
    clock.advance(timedelta(days=366))
    assert run(runtime).residents_purged == 1


def test_expired_sessions_are_deleted(runtime: Runtime, clock: FixedClock,
                                      auth_header: Callable[[str], Headers]) -> None:
    from staff.models import StaffToken

    auth_header("clerk")
    clock.advance(timedelta(days=2))
    assert run(runtime).staff_tokens_deleted == 1
    assert count(runtime, StaffToken) == 0


def test_the_cli_runs_with_a_progress_bar_and_a_summary(runtime: Runtime, clock: FixedClock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli

    denied_application(runtime)
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["retention", "run", "--dry-run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # The service clock is fixed in this test; the CLI uses the real date, later than START.
    assert "would purge: 1 applications" in result.output
    assert "checking applications" in result.output
