"""Records requests return one resident's data and no one else's; the subpoena drill finds no
personal data in the clear, and does find it once some is planted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import repository as enrollment_repository
from enrollment import service as enrollment
from enrollment.schemas import Address, ApplicationCreate, Designations
from idcard import repository as card_repository
from oversight import drill
from privacy.audit import Actor
from tests.factories import photo_png
from tests.redemption.helpers import make_cardholder, make_partner

Headers = dict[str, str]
CANARIES = ["Zephyrine", "Quillfeather-Abernathy", "1987-03-14", "19870314",
            "742 Evergreen Terrace", "Evergreen", "+1 212 555 0100", "zeph@example.org"]


def known_applicant(runtime: Runtime) -> str:
    desk = runtime.enrollment
    with unit_of_work(runtime.sessions) as session:
        view = enrollment.create_application(session, desk=desk, actor=Actor("c", "clerk"),
                                             data=ApplicationCreate(
            first_name="Zephyrine", last_name="Quillfeather-Abernathy",
            date_of_birth=date(1987, 3, 14),
            address=Address(line1="742 Evergreen Terrace", city="Springfield", state="NY",
                            postal_code="11201"),
            phone="+1 212 555 0100", email="zeph@example.org",
            designations=Designations(veteran=True, languages=["es"])))
        enrollment.set_photo(session, desk=desk, actor=Actor("c", "clerk"),
                             reference=view.reference, image=photo_png())
        return view.reference


def test_a_records_request_returns_exactly_that_residents_data(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers]) -> None:
    holder = make_cardholder(runtime, first_name="Alinta")
    other = make_cardholder(runtime, first_name="Bartholomew")
    admin = auth_header("admin")
    _, museum = make_partner(client, admin, "cultural", "City Museum")
    client.post("/v1/verify", headers=museum, json={"qr": holder["qr"]})
    client.post("/v1/verify", headers=museum, json={"qr": other["qr"]})
    with unit_of_work(runtime.sessions) as session:
        card = card_repository.get(session, uuid.UUID(holder["id"]))
        assert card is not None and card.application_id is not None
        application = enrollment_repository.get_application(session, card.application_id)
        assert application is not None
        reference = enrollment.view_application(session, desk=runtime.enrollment,
                                                application=application).reference
    supervisor = auth_header("supervisor")
    assert client.get(f"/v1/applications/{reference}/records",
                      headers=auth_header("clerk")).status_code == 403
    record = client.get(f"/v1/applications/{reference}/records", headers=supervisor).json()
    assert record["resident"]["first_name"] == "Alinta"
    assert [c["card_number"] for c in record["cards"]] == [holder["card_number"]]
    assert [(a["partner"], a["event"]) for a in record["partner_activity"]] == [
        ("City Museum", "verified")]
    assert "nationality" in record["never_held"]["refused_fields"]
    flat = str(record)
    assert "Bartholomew" not in flat and other["card_number"] not in flat
    pdf = client.get(f"/v1/applications/{reference}/records.pdf", headers=supervisor)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _drill(runtime: Runtime, tmp_path: Path) -> drill.DrillReport:
    runtime.engine.dispose()
    dump = drill.dump_database(runtime.settings.effective_database_url, tmp_path / "dump")
    return drill.analyse(drill.read_dump(dump), source=str(dump), canaries=CANARIES)


def test_the_drill_finds_nothing_in_the_clear(runtime: Runtime, tmp_path: Path,
                                              client: TestClient,
                                              auth_header: Callable[[str], Headers]) -> None:
    known_applicant(runtime)
    make_cardholder(runtime, first_name="Maria")  # a common name the drill knows
    report = _drill(runtime, tmp_path)
    assert report.clean, report.render()
    assert report.rows > 20
    sealed = {f"{c.table}.{c.column}" for c in report.columns
              if c.classification.startswith("ciphertext")}
    assert {"residents.first_name_enc", "residents.date_of_birth_enc", "residents.address_enc",
            "resident_photos.photo_enc", "cards.credential_enc"} <= sealed
    assert "none: no column and no JSON key can hold them" in report.render()


@pytest.mark.parametrize(("statement", "kind"), [
    ("UPDATE residents SET middle_name_enc = :v", "canary"),
    ("UPDATE applications SET decision_reason = 'Maria Lopez'", "name"),
    ("UPDATE resident_photos SET photo_enc = :jpeg", "photo"),
])
def test_the_drill_finds_a_planted_plaintext_value(statement: str, kind: str, runtime: Runtime,
                                                   tmp_path: Path) -> None:
    known_applicant(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text(statement), {"v": b"Zephyrine", "jpeg": b"\xff\xd8\xff\xe0" + b"0" * 40}
                     if ":" in statement else {})
    report = _drill(runtime, tmp_path)
    assert not report.clean
    assert report.counts()[kind] >= 1, report.render()


def test_the_drill_flags_a_column_that_could_hold_a_forbidden_field(runtime: Runtime,
                                                                     tmp_path: Path) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text("ALTER TABLE residents ADD COLUMN country_of_birth VARCHAR(40)"))
    try:
        report = _drill(runtime, tmp_path)
    finally:  # the PostgreSQL test database is shared by the session's tests
        with runtime.engine.begin() as conn:
            conn.execute(text("ALTER TABLE residents DROP COLUMN country_of_birth"))
    assert "column residents.country_of_birth" in report.forbidden


def test_the_cli_drill_reports_what_the_keys_would_open(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli

    known_applicant(runtime)
    canaries = tmp_path / "canaries.txt"
    canaries.write_text("\n".join(CANARIES))
    runtime.engine.dispose()
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["privacy", "drill", "--with-keys",
                                               "--canaries", str(canaries)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Result: clean" in result.output
    assert "residents readable" in result.output and "photos" in result.output
