"""The rulebook's rules on plain values, beside tests/enrollment/test_rulebook.py (which walks
the shipped document list): the edges of dates and grace, the clerk's claims, a city's own
rules, and the application workflow table."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from enrollment.rulebook import (
    DEFAULT_RULEBOOK_PATH,
    DateOutOfRange,
    DocumentCategory,
    DocumentCredit,
    DocumentExpired,
    DocumentFlagNotPossible,
    ResidencyDocumentTooOld,
    Rulebook,
    load_rulebook,
)
from enrollment.rulebook_file import read_rulebook_file
from enrollment.service import TRANSITIONS
from enrollment.states import BEFORE_DECISION, ApplicationStatus

TODAY = date(2026, 3, 10)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return load_rulebook()


def evaluate(rulebook: Rulebook, kind: str, *, expires_on: date | None = None,
             issued_on: date | None = None, photo: bool = False,
             dob: bool = False) -> DocumentCredit:
    return rulebook.evaluate_document(kind, expires_on=expires_on, issued_on=issued_on,
                                      shows_photo=photo, shows_dob=dob, today=TODAY)


def test_a_passport_counts_in_full_through_its_expiry_day(rulebook: Rulebook) -> None:
    assert evaluate(rulebook, "passport", expires_on=TODAY).points == 3
    assert evaluate(rulebook, "passport", expires_on=TODAY - DAY).points == 2


def test_a_passports_grace_ends_three_years_after_expiry(rulebook: Rulebook) -> None:
    assert evaluate(rulebook, "passport", expires_on=date(2023, 3, 10)).points == 2
    with pytest.raises(DocumentExpired):
        evaluate(rulebook, "passport", expires_on=date(2023, 3, 9))


def test_a_document_without_grace_is_refused_the_day_after_expiry(rulebook: Rulebook) -> None:
    with pytest.raises(DocumentExpired):
        evaluate(rulebook, "state_id", expires_on=TODAY - DAY)


def test_a_utility_bill_is_recent_for_sixty_days(rulebook: Rulebook) -> None:
    assert evaluate(rulebook, "utility_bill", issued_on=TODAY - 60 * DAY).points == 1
    with pytest.raises(ResidencyDocumentTooOld):
        evaluate(rulebook, "utility_bill", issued_on=TODAY - 61 * DAY)


def test_an_expiry_fifty_years_ahead_is_a_typing_mistake(rulebook: Rulebook) -> None:
    evaluate(rulebook, "state_id", expires_on=date(2076, 3, 10))
    with pytest.raises(DateOutOfRange):
        evaluate(rulebook, "state_id", expires_on=date(2076, 3, 11))


def test_what_a_document_shows_is_the_kinds_or_the_clerks_word(rulebook: Rulebook) -> None:
    # always: shown whatever the clerk ticked; sometimes: as the clerk says; never: refused.
    assert evaluate(rulebook, "state_id", expires_on=TODAY).shows_photo
    assert not evaluate(rulebook, "school_photo_id").shows_dob
    assert evaluate(rulebook, "school_photo_id", dob=True).shows_dob
    with pytest.raises(DocumentFlagNotPossible):
        evaluate(rulebook, "utility_bill", issued_on=TODAY, photo=True)


def test_the_minimum_is_met_exactly(rulebook: Rulebook) -> None:
    identity = DocumentCredit(DocumentCategory.IDENTITY, 3, shows_photo=True, shows_dob=True)
    residency = DocumentCredit(DocumentCategory.RESIDENCY, 1, shows_photo=False,
                               shows_dob=False)
    assert rulebook.tally([identity, residency], age=30, has_caretaker=False).satisfied
    short = DocumentCredit(DocumentCategory.IDENTITY, 2, shows_photo=True, shows_dob=True)
    tally = rulebook.tally([short, residency], age=30, has_caretaker=False)
    # The identity shortfall accounts for the whole gap, so it is not listed twice.
    assert tally.missing == ["identity_points"]
    assert tally.messages == ["1 more identity point"]
    assert not tally.satisfied


def test_a_city_can_count_relationship_documents_toward_the_total(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RULEBOOK_PATH.read_text())
    data["requirements"]["total_counts"] = ["identity", "residency", "age", "relationship"]
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data))
    city = load_rulebook(path)
    credits = [DocumentCredit(DocumentCategory.IDENTITY, 3, shows_photo=True, shows_dob=True),
               DocumentCredit(DocumentCategory.RESIDENCY, 1, shows_photo=False,
                              shows_dob=False),
               DocumentCredit(DocumentCategory.RELATIONSHIP, 1, shows_photo=False,
                              shows_dob=False)]
    assert city.tally(credits, age=30, has_caretaker=False).total_points == 5
    assert load_rulebook().tally(credits, age=30, has_caretaker=False).total_points == 4


def test_the_fingerprint_is_of_the_bytes_read() -> None:
    spec, raw = read_rulebook_file()
    assert raw == DEFAULT_RULEBOOK_PATH.read_bytes()
    assert load_rulebook().fingerprint == hashlib.sha256(raw).hexdigest()
    assert spec.name == load_rulebook().name


# --- the application workflow ---------------------------------------------------------------


def test_the_workflow_names_only_application_states() -> None:
    for moves in TRANSITIONS.values():
        for start, end in moves.items():
            assert isinstance(start, ApplicationStatus) and isinstance(end, ApplicationStatus)


def test_an_application_can_be_denied_from_every_state_before_a_decision() -> None:
    assert set(TRANSITIONS["deny"]) == BEFORE_DECISION
    assert set(TRANSITIONS["deny"].values()) == {ApplicationStatus.DENIED}


def test_only_a_reviewed_application_is_approved_and_only_an_approved_one_gets_a_card() -> None:
    assert TRANSITIONS["approve"] == {ApplicationStatus.IN_REVIEW: ApplicationStatus.APPROVED}
    assert TRANSITIONS["issue_card"] == {ApplicationStatus.APPROVED:
                                         ApplicationStatus.CARD_ISSUED}


def test_no_step_leaves_a_decided_application() -> None:
    decided = {ApplicationStatus.DENIED, ApplicationStatus.CARD_ISSUED}
    assert not any(start in decided for moves in TRANSITIONS.values() for start in moves)
