"""The subpoena drill scans values, not only names: a word about immigration status in any text
column or JSON value that is not ciphertext or a keyed hash fails the drill, which says where
and never what. A records request then shows only codes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import repository as enrollment_repository
from enrollment import service as enrollment
from idcard import repository as card_repository
from oversight import drill
from privacy.models import PendingAuditEntry
from tests.oversight.test_records_and_drill import known_applicant
from tests.redemption.helpers import make_cardholder, make_partner

Headers = dict[str, str]


def _drill(runtime: Runtime, tmp_path: Path) -> drill.DrillReport:
    runtime.engine.dispose()
    dump = drill.dump_database(runtime.settings.effective_database_url, tmp_path / "dump")
    return drill.analyse(drill.read_dump(dump), source=str(dump))


def plant_audit_entry(runtime: Runtime, purpose: str | None = None,
                      detail: dict[str, str] | None = None) -> None:
    """An entry as old main wrote a police check: with the purpose as typed. Written past the
    service (entries are never edited, so it is added)."""
    with runtime.engine.begin() as conn:
        conn.execute(insert(PendingAuditEntry).values(
            at=datetime.now(UTC), actor="partner:x", role="partner-police",
            action="card.verified", subject="resident:x", purpose=purpose, detail=detail or {}))


@pytest.mark.parametrize(("plant", "where"), [
    (lambda r: plant_audit_entry(r, purpose="undocumented"), "audit_pending.purpose"),
    (lambda r: plant_audit_entry(r, detail={"reason": "ICE-detainer"}), "audit_pending.detail"),
    (lambda r: _sql(r, "UPDATE applications SET decision_reason = 'visa_overstay'"),
     "applications.decision_reason"),
    (lambda r: _sql(r, "UPDATE applications SET delivery = '无证移民'"),
     "applications.delivery"),
])
def test_the_drill_fails_on_an_immigration_term_and_names_only_where(
        plant: Callable[[Runtime], None], where: str, runtime: Runtime, tmp_path: Path) -> None:
    known_applicant(runtime)
    plant(runtime)
    report = _drill(runtime, tmp_path)
    assert not report.clean
    assert {f"{f.table}.{f.column}" for f in report.findings
            if f.kind == drill.IMMIGRATION_TERM} == {where}
    rendered = report.render()
    assert f"FOUND (where, never the value): {where}" in rendered
    for word in ("undocumented", "ICE-detainer", "visa_overstay", "无证移民"):
        assert word not in rendered
    assert "Result: IMMIGRATION TERMS IN THE CLEAR" in rendered


def _sql(runtime: Runtime, statement: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(statement))


def test_the_drill_is_clean_after_a_police_check_with_an_incident_reference(
        client: TestClient, runtime: Runtime, tmp_path: Path,
        auth_header: Callable[[str], Headers]) -> None:
    holder = make_cardholder(runtime)
    admin = auth_header("admin")
    _, police = make_partner(client, admin, "police", "Precinct 84")
    assert client.post("/v1/verify", headers=police, json={
        "qr": holder["qr"], "purpose": "incident_investigation",
        "incident_reference": "INC-2026-0042"}).status_code == 200
    report = _drill(runtime, tmp_path)
    assert report.clean, report.render()
    assert "Immigration terms in stored values" in report.render()


def test_the_cli_drill_exits_non_zero_on_a_planted_term(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from cityid.settings import get_settings
    from entry import cli

    known_applicant(runtime)
    plant_audit_entry(runtime, purpose="undocumented")
    runtime.engine.dispose()
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["privacy", "drill"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "audit_pending.purpose" in result.output and "undocumented" not in result.output


def test_a_records_request_shows_codes_only(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers]) -> None:
    holder = make_cardholder(runtime)
    _, police = make_partner(client, auth_header("admin"), "police", "Precinct 84")
    assert client.post("/v1/verify", headers=police, json={
        "qr": holder["qr"], "purpose": "welfare_check",
        "incident_reference": "INC-2026-0042"}).status_code == 200
    refused = client.post("/v1/verify", headers=police, json={
        "qr": holder["qr"], "purpose": "undocumented"})
    assert refused.status_code == 422
    with unit_of_work(runtime.sessions) as session:
        card = card_repository.get(session, uuid.UUID(holder["id"]))
        assert card is not None and card.application_id is not None
        application = enrollment_repository.get_application(session, card.application_id)
        assert application is not None
        reference = enrollment.view_application(session, desk=runtime.enrollment,
                                                application=application).reference
    supervisor = auth_header("supervisor")
    record = client.get(f"/v1/applications/{reference}/records", headers=supervisor).json()
    purposes = [e["purpose"] for e in record["audit"] if e["purpose"] is not None]
    assert "welfare_check" in purposes
    assert all(p.replace("_", "").isalpha() and p.islower() for p in purposes)
    shown = str(record)
    assert "undocumented" not in shown and "2026-0042" not in shown
    # The PDF is laid out from the same record.
    pdf = client.get(f"/v1/applications/{reference}/records.pdf", headers=supervisor)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
