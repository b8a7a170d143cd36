"""The shipped default rulebook, evaluated document by document and tallied; and the loader."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from cityid.errors import AppError
from enrollment.rulebook import (
    DEFAULT_RULEBOOK_PATH,
    ApplicantTooYoung,
    DocumentCategory,
    DocumentCredit,
    Rulebook,
    RulebookInvalid,
    load_rulebook,
)

TODAY = date(2025, 6, 15)
DAY = timedelta(days=1)
IDENTITY = DocumentCategory.IDENTITY
RESIDENCY = DocumentCategory.RESIDENCY
AGE = DocumentCategory.AGE
RELATIONSHIP = DocumentCategory.RELATIONSHIP


@pytest.fixture(scope="module")
def rulebook() -> Rulebook:
    return load_rulebook()


def credit(category: DocumentCategory, points: int, *, photo: bool = False,
           dob: bool = False) -> DocumentCredit:
    return DocumentCredit(category=category, points=points, shows_photo=photo, shows_dob=dob)


# --- evaluating one document ----------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    kind: str
    expires_on: date | None = None
    issued_on: date | None = None
    shows_photo: bool = False
    shows_dob: bool = False


ACCEPTED = [
    pytest.param(Doc("passport", expires_on=TODAY + 365 * DAY),
                 DocumentCredit(IDENTITY, 3, True, True), id="valid passport, full points"),
    pytest.param(Doc("passport", expires_on=TODAY),
                 DocumentCredit(IDENTITY, 3, True, True), id="passport expiring today still valid"),
    pytest.param(Doc("passport", expires_on=date(2022, 6, 15) + DAY),
                 DocumentCredit(IDENTITY, 2, True, True),
                 id="passport expired 3 years ago less a day counts at reduced points"),
    pytest.param(Doc("passport", expires_on=date(2022, 6, 15)),
                 DocumentCredit(IDENTITY, 2, True, True),
                 id="passport expired exactly 3 years ago counts"),
    pytest.param(Doc("utility_bill", issued_on=TODAY - 60 * DAY),
                 DocumentCredit(RESIDENCY, 1, False, False),
                 id="utility bill on the last day of its window"),
    pytest.param(Doc("lease", expires_on=TODAY + 200 * DAY),
                 DocumentCredit(RESIDENCY, 1, False, False), id="current lease"),
    pytest.param(Doc("birth_certificate"), DocumentCredit(IDENTITY, 2, False, True),
                 id="birth certificate needs no date and always shows the date of birth"),
    pytest.param(Doc("foreign_drivers_license", expires_on=TODAY + DAY, shows_dob=True),
                 DocumentCredit(IDENTITY, 2, True, True),
                 id="'sometimes' date of birth follows the clerk"),
    pytest.param(Doc("foreign_drivers_license", expires_on=TODAY + DAY, shows_dob=False),
                 DocumentCredit(IDENTITY, 2, True, False),
                 id="'sometimes' date of birth not shown"),
    pytest.param(Doc("court_order"), DocumentCredit(RELATIONSHIP, 1, False, False),
                 id="relationship document"),
]


@pytest.mark.parametrize(("doc", "expected"), ACCEPTED)
def test_document_is_credited(rulebook: Rulebook, doc: Doc, expected: DocumentCredit) -> None:
    got = rulebook.evaluate_document(doc.kind, expires_on=doc.expires_on, issued_on=doc.issued_on,
                                     shows_photo=doc.shows_photo, shows_dob=doc.shows_dob,
                                     today=TODAY)
    assert got == expected


REFUSED = [
    pytest.param(Doc("passport", expires_on=date(2022, 6, 15) - DAY), "document_expired",
                 id="passport expired 3 years ago plus a day"),
    pytest.param(Doc("us_drivers_license", expires_on=TODAY - DAY), "document_expired",
                 id="licence has no grace after expiry"),
    pytest.param(Doc("passport"), "expiry_date_required", id="passport without expiry date"),
    pytest.param(Doc("utility_bill"), "issue_date_required", id="bill without issue date"),
    pytest.param(Doc("utility_bill", issued_on=TODAY - 61 * DAY), "residency_document_too_old",
                 id="utility bill older than its 60-day window"),
    pytest.param(Doc("tax_return", issued_on=TODAY - 366 * DAY), "residency_document_too_old",
                 id="tax return older than its 365-day window"),
    pytest.param(Doc("utility_bill", issued_on=TODAY + DAY), "date_in_future",
                 id="issue date tomorrow"),
    pytest.param(Doc("passport", expires_on=TODAY + DAY, issued_on=TODAY + 30 * DAY),
                 "date_in_future", id="passport issue date in the future"),
    pytest.param(Doc("passport", expires_on=date(2200, 1, 1)), "date_out_of_range",
                 id="absurd expiry date"),
    pytest.param(Doc("utility_bill", issued_on=date(1850, 1, 1)), "date_out_of_range",
                 id="absurd issue date"),
    pytest.param(Doc("lease", expires_on=date(2020, 1, 1), issued_on=date(2021, 1, 1)),
                 "date_out_of_range", id="expiry before issue"),
    pytest.param(Doc("spaceship_licence"), "unknown_document_kind", id="kind not in rulebook"),
    pytest.param(Doc("utility_bill", issued_on=TODAY, shows_photo=True),
                 "document_flag_not_possible", id="utility bill claimed to show a photo"),
]


@pytest.mark.parametrize(("doc", "code"), REFUSED)
def test_document_is_refused(rulebook: Rulebook, doc: Doc, code: str) -> None:
    with pytest.raises(AppError) as caught:
        rulebook.evaluate_document(doc.kind, expires_on=doc.expires_on, issued_on=doc.issued_on,
                                   shows_photo=doc.shows_photo, shows_dob=doc.shows_dob,
                                   today=TODAY)
    assert caught.value.code == code


def test_grace_from_29_february_ends_on_28_february(rulebook: Rulebook) -> None:
    def points(today: date) -> int:
        return rulebook.evaluate_document("passport", expires_on=date(2024, 2, 29),
                                          issued_on=None, shows_photo=True, shows_dob=True,
                                          today=today).points

    assert points(date(2027, 2, 28)) == 2
    with pytest.raises(AppError, match="expired"):
        points(date(2027, 3, 1))


def test_refusal_message_names_no_document_kind(rulebook: Rulebook) -> None:
    with pytest.raises(AppError) as caught:
        rulebook.evaluate_document("consular_id", expires_on=TODAY - DAY, issued_on=None,
                                   shows_photo=True, shows_dob=True, today=TODAY)
    assert "consular" not in caught.value.detail.lower()


def test_credit_holds_only_category_points_and_flags(rulebook: Rulebook) -> None:
    got = rulebook.evaluate_document("consular_id", expires_on=TODAY + DAY, issued_on=None,
                                     shows_photo=True, shows_dob=True, today=TODAY)
    assert set(DocumentCredit.__slots__) == {"category", "points", "shows_photo", "shows_dob"}
    assert "consular" not in repr(got)


# --- the tally ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    credits: tuple[DocumentCredit, ...]
    age: int = 30
    has_caretaker: bool = False


PASSPORT = credit(IDENTITY, 3, photo=True, dob=True)
BILL = credit(RESIDENCY, 1)
BIRTH_CERT = credit(IDENTITY, 2, dob=True)
RELATION = credit(RELATIONSHIP, 1)

TALLIES = [
    pytest.param(Case((PASSPORT, BILL)), [], id="exactly 3 identity + 1 residency"),
    pytest.param(Case((credit(IDENTITY, 2, photo=True, dob=True), BILL)), ["identity_points"],
                 id="2 identity + 1 residency"),
    pytest.param(Case((PASSPORT,)), ["residency_points"], id="no residency"),
    pytest.param(Case((credit(IDENTITY, 3), BILL)),
                 ["photo_document", "date_of_birth_document"], id="no photo, no date of birth"),
    pytest.param(Case((BIRTH_CERT, credit(IDENTITY, 1), BILL)), ["photo_document"],
                 id="no document with a photo"),
    pytest.param(Case((credit(IDENTITY, 3, photo=True), BILL)), ["date_of_birth_document"],
                 id="no document with a date of birth"),
    pytest.param(Case((PASSPORT, credit(AGE, 1))), ["residency_points"],
                 id="age points do not replace residency"),
    pytest.param(Case((PASSPORT, BILL, RELATION), age=12, has_caretaker=True), [],
                 id="minor with caretaker and relationship document"),
    pytest.param(Case((PASSPORT, BILL), age=12, has_caretaker=False),
                 ["caretaker", "caretaker_relationship_document"], id="minor without caretaker"),
    pytest.param(Case((PASSPORT, BILL), age=10, has_caretaker=True),
                 ["caretaker_relationship_document"], id="minor, caretaker unproved"),
    pytest.param(Case((PASSPORT, BILL), age=13, has_caretaker=False),
                 ["caretaker", "caretaker_relationship_document"], id="13 still a minor"),
    pytest.param(Case((PASSPORT, BILL), age=14), [], id="14 needs no caretaker"),
    pytest.param(Case((PASSPORT, BILL, RELATION), age=9, has_caretaker=True),
                 ["applicant_too_young"], id="under 10 refused"),
    pytest.param(Case((credit(RESIDENCY, 1), credit(RELATIONSHIP, 3))),
                 ["identity_points", "photo_document", "date_of_birth_document"],
                 id="relationship points count toward nothing"),
]


@pytest.mark.parametrize(("case", "missing"), TALLIES)
def test_tally(rulebook: Rulebook, case: Case, missing: list[str]) -> None:
    tally = rulebook.tally(case.credits, age=case.age, has_caretaker=case.has_caretaker)
    assert tally.missing == missing
    assert tally.satisfied is (not missing)
    assert len(tally.messages) == len(tally.missing)


@pytest.mark.parametrize(("credits", "message"), [
    ((PASSPORT,), "1 more residency point"),
    ((credit(IDENTITY, 1, photo=True, dob=True), BILL), "2 more identity points"),
    ((BIRTH_CERT, credit(IDENTITY, 1), BILL), "a document showing a photo"),
])
def test_tally_says_what_is_missing(rulebook: Rulebook, credits: tuple[DocumentCredit, ...],
                                    message: str) -> None:
    assert message in rulebook.tally(credits, age=30, has_caretaker=False).messages


def test_tally_counts_points_by_category(rulebook: Rulebook) -> None:
    tally = rulebook.tally((PASSPORT, BILL, BILL, RELATION), age=30, has_caretaker=False)
    assert tally.points[IDENTITY] == 3
    assert tally.points[RESIDENCY] == 2
    assert tally.total_points == 5


def test_minor_message_names_the_relationship_document(rulebook: Rulebook) -> None:
    tally = rulebook.tally((PASSPORT, BILL), age=11, has_caretaker=True)
    assert tally.messages == ["a caretaker relationship document"]


@pytest.mark.parametrize(("age", "years"), [(10, 2), (13, 2), (14, 5), (40, 5), (99, 5)])
def test_card_validity_bands(rulebook: Rulebook, age: int, years: int) -> None:
    assert rulebook.card_validity_years(age) == years


def test_card_validity_refuses_under_minimum(rulebook: Rulebook) -> None:
    with pytest.raises(ApplicantTooYoung):
        rulebook.card_validity_years(9)


def test_document_kinds_for_the_picker(rulebook: Rulebook) -> None:
    kinds = {k.kind: k for k in rulebook.document_kinds()}
    assert kinds["passport"].needs_expiry_date and not kinds["passport"].needs_issue_date
    assert kinds["utility_bill"].needs_issue_date
    assert kinds["court_order"].category is RELATIONSHIP
    assert {k.category for k in kinds.values()} == set(DocumentCategory)


# --- loading --------------------------------------------------------------------------------


def _default() -> dict[str, object]:
    data = yaml.safe_load(DEFAULT_RULEBOOK_PATH.read_text())
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "rulebook.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _documents(data: dict[str, object]) -> dict[str, dict[str, object]]:
    documents = data["documents"]
    assert isinstance(documents, dict)
    return documents


@pytest.mark.parametrize("points", [0, -1, "1", 1.5, True])
def test_bad_points_name_the_entry(tmp_path: Path, points: object) -> None:
    data = _default()
    _documents(data)["utility_bill"]["points"] = points
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(_write(tmp_path, data))
    assert "rulebook.yaml: documents.utility_bill.points must be a positive integer" in str(
        caught.value)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: _documents(d)["passport"].update(category="nationality"),
     "documents.passport.category must be one of"),
    (lambda d: _documents(d)["passport"].pop("photo"), "documents.passport.photo is required"),
    (lambda d: _documents(d)["lease"].update(issuing_country="XX"),
     "documents.lease.issuing_country is not a known setting"),
    (lambda d: _documents(d)["utility_bill"].update(date="expiry"),
     "documents.utility_bill recent_within_days needs date: issue"),
    (lambda d: _documents(d)["passport"].update(expired_grace={"years": 3, "points": 4}),
     "documents.passport expired_grace.points must not exceed points"),
    (lambda d: d.update(card_validity=[{"from_age": 14, "years": 5}]),
     "the first card_validity band must start at ages.minimum"),
    (lambda d: _documents(d).update({"Bad Kind": _documents(d)["lease"]}),
     "documents.Bad Kind must be lower case"),
])
def test_malformed_rulebook_names_the_problem(
        tmp_path: Path, change: Callable[[dict[str, object]], object], expected: str) -> None:
    data = _default()
    change(data)
    with pytest.raises(RulebookInvalid) as caught:
        load_rulebook(_write(tmp_path, data))
    assert expected in str(caught.value)


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rulebook.yaml"
    text = DEFAULT_RULEBOOK_PATH.read_text()
    path.write_text(text.replace("  lease:\n", "  utility_bill:\n", 1))
    with pytest.raises(RulebookInvalid, match="'utility_bill' is given twice at line"):
        load_rulebook(path)


def test_unreadable_and_non_yaml_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RulebookInvalid, match="cannot be read"):
        load_rulebook(tmp_path / "absent.yaml")
    path = tmp_path / "rulebook.yaml"
    path.write_text("documents: [unclosed\n")
    with pytest.raises(RulebookInvalid, match=r"^rulebook\.yaml: .* at line"):
        load_rulebook(path)


def test_a_city_rulebook_replaces_the_default(tmp_path: Path) -> None:
    data = _default()
    _documents(data)["utility_bill"]["points"] = 2
    city = load_rulebook(_write(tmp_path, data))
    got = city.evaluate_document("utility_bill", expires_on=None, issued_on=TODAY,
                                 shows_photo=False, shows_dob=False, today=TODAY)
    assert got.points == 2
    assert city.fingerprint != load_rulebook().fingerprint
