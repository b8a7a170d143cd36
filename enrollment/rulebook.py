"""The document rulebook: which documents count toward an application, and for how many points.

The rules are data (``rulebook.yaml`` beside this module, or a city's own file), validated when
loaded (``enrollment.rulebook_file``). A document kind is only an input: what comes out of an
evaluation is a :class:`DocumentCredit`, which holds nothing that could say where a person comes
from.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from cityid.errors import AppError
from enrollment.rulebook_file import (
    DEFAULT_RULEBOOK_PATH,
    DocumentCategory,
    RulebookFile,
    RulebookInvalid,
    Showing,
    read_rulebook_file,
)

# The rulebook's vocabulary is part of its interface: importers name the categories and the
# refusal of an invalid file through this module.
__all__ = [
    "DEFAULT_RULEBOOK_PATH", "ApplicantTooYoung", "DateInFuture", "DateOutOfRange",
    "DocumentCategory", "DocumentCredit", "DocumentExpired", "DocumentFlagNotPossible",
    "DocumentKind", "ExpiryDateRequired", "IssueDateRequired", "ResidencyDocumentTooOld",
    "Rulebook", "RulebookInvalid", "Tally", "UnknownDocumentKind", "load_rulebook",
]

# Dates outside these bounds are typing mistakes, not documents.
EARLIEST_DOCUMENT_DATE = date(1900, 1, 1)
LATEST_EXPIRY_YEARS_AHEAD = 50


# --- errors ---------------------------------------------------------------------------------


class UnknownDocumentKind(AppError):
    code = "unknown_document_kind"
    title = "This document kind is not in the rulebook"


class ExpiryDateRequired(AppError):
    code = "expiry_date_required"
    title = "This document kind needs its expiry date"


class IssueDateRequired(AppError):
    code = "issue_date_required"
    title = "This document kind needs its issue date"


class DateInFuture(AppError):
    code = "date_in_future"
    title = "The issue date is in the future"


class DateOutOfRange(AppError):
    code = "date_out_of_range"
    title = "The document date is not plausible"


class DocumentExpired(AppError):
    code = "document_expired"
    title = "The document has expired"


class ResidencyDocumentTooOld(AppError):
    code = "residency_document_too_old"
    title = "The residency document is too old"


class DocumentFlagNotPossible(AppError):
    code = "document_flag_not_possible"
    title = "This document kind cannot show that"


class ApplicantTooYoung(AppError):
    code = "applicant_too_young"
    title = "The applicant is too young for a card"

# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentCredit:
    """All that is kept of a document once it has been checked and handed back."""

    category: DocumentCategory
    points: int
    shows_photo: bool
    shows_dob: bool


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One entry of the clerk's document picker."""

    kind: str
    label: str
    category: DocumentCategory
    needs_expiry_date: bool
    needs_issue_date: bool
    photo: Showing
    date_of_birth: Showing


@dataclass(frozen=True, slots=True)
class Tally:
    satisfied: bool
    points: dict[DocumentCategory, int]
    total_points: int
    missing: list[str]
    messages: list[str]
    # How many points each ``<category>_points`` or ``total_points`` shortfall still needs, so
    # a receipt can say it in the applicant's language.
    shortfall: dict[str, int] = field(default_factory=dict)


# --- the rulebook ---------------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    # A 29 February anniversary falls on 28 February in common years.
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _more(count: int, what: str) -> str:
    return f"{count} more {what} point{'s' if count != 1 else ''}"


def _showing(showing: Showing, claimed: bool, what: str) -> bool:
    if showing == "always":
        return True
    if showing == "never":
        if claimed:
            raise DocumentFlagNotPossible(f"This document kind never shows {what}")
        return False
    return claimed


class Rulebook:
    def __init__(self, spec: RulebookFile, *, fingerprint: str) -> None:
        self.spec = spec
        # Recorded with a decision so an audit can tell which rules were applied.
        self.fingerprint = fingerprint

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def minimum_age(self) -> int:
        return self.spec.ages.minimum

    def needs_caretaker(self, age: int) -> bool:
        through = self.spec.ages.caretaker_through
        return through is not None and self.spec.ages.minimum <= age <= through

    def document_kinds(self) -> list[DocumentKind]:
        return [
            DocumentKind(kind=kind, label=spec.label, category=spec.category,
                         needs_expiry_date=spec.date == "expiry",
                         needs_issue_date=spec.date == "issue",
                         photo=spec.photo, date_of_birth=spec.date_of_birth)
            for kind, spec in self.spec.documents.items()
        ]

    def evaluate_document(self, kind: str, *, expires_on: date | None, issued_on: date | None,
                          shows_photo: bool, shows_dob: bool, today: date) -> DocumentCredit:
        spec = self.spec.documents.get(kind)
        if spec is None:
            raise UnknownDocumentKind()
        _check_dates(expires_on=expires_on, issued_on=issued_on, today=today)

        points = spec.points
        if spec.date == "expiry":
            if expires_on is None:
                raise ExpiryDateRequired()
            if expires_on < today:
                grace = spec.expired_grace
                if grace is None or today > _add_years(expires_on, grace.years):
                    raise DocumentExpired()
                points = grace.points
        elif spec.date == "issue":
            if issued_on is None:
                raise IssueDateRequired()
            window = spec.recent_within_days
            if window is not None and issued_on < today - timedelta(days=window):
                raise ResidencyDocumentTooOld(
                    f"A residency document of this kind must be dated within {window} days")

        return DocumentCredit(
            category=spec.category,
            points=points,
            shows_photo=_showing(spec.photo, shows_photo, "a photo"),
            shows_dob=_showing(spec.date_of_birth, shows_dob, "a date of birth"),
        )

    def tally(self, credits: Sequence[DocumentCredit], *, age: int,
              has_caretaker: bool) -> Tally:
        points = {category: 0 for category in DocumentCategory}
        for credit in credits:
            points[credit.category] += credit.points
        rules = self.spec.requirements
        total = sum(points[category] for category in set(rules.total_counts))

        if age < self.spec.ages.minimum:
            return Tally(satisfied=False, points=points, total_points=total,
                         missing=["applicant_too_young"],
                         messages=[f"the applicant must be at least {self.minimum_age}"])

        missing: list[str] = []
        messages: list[str] = []
        shortfall: dict[str, int] = {}
        for category, needed in rules.category_points.items():
            if points[category] < needed:
                missing.append(f"{category.value}_points")
                shortfall[f"{category.value}_points"] = needed - points[category]
                messages.append(_more(needed - points[category], category.value))
        if total < rules.total_points:
            # Category shortfalls may already account for the whole gap.
            short = rules.total_points - total
            listed = sum(needed - points[category]
                         for category, needed in rules.category_points.items()
                         if points[category] < needed and category in rules.total_counts)
            if short > listed:
                missing.append("total_points")
                extra = short - listed
                shortfall["total_points"] = extra
                messages.append(f"{extra} more point{'s' if extra != 1 else ''} "
                                "from any document")
        if rules.document_with_photo and not any(c.shows_photo for c in credits):
            missing.append("photo_document")
            messages.append("a document showing a photo")
        if rules.document_with_date_of_birth and not any(c.shows_dob for c in credits):
            missing.append("date_of_birth_document")
            messages.append("a document showing the date of birth")
        if self.needs_caretaker(age):
            if not has_caretaker:
                missing.append("caretaker")
                messages.append("a caretaker applying with the minor")
            if points[DocumentCategory.RELATIONSHIP] < self.spec.ages.caretaker_relationship_points:
                missing.append("caretaker_relationship_document")
                messages.append("a caretaker relationship document")
        return Tally(satisfied=not missing, points=points, total_points=total,
                     missing=missing, messages=messages, shortfall=shortfall)

    def card_validity_years(self, age: int) -> int:
        if age < self.spec.ages.minimum:
            raise ApplicantTooYoung(f"The applicant must be at least {self.minimum_age}")
        years = self.spec.card_validity[0].years
        for band in self.spec.card_validity:
            if age >= band.from_age:
                years = band.years
        return years


def _check_dates(*, expires_on: date | None, issued_on: date | None, today: date) -> None:
    if issued_on is not None:
        if issued_on > today:
            raise DateInFuture()
        if issued_on < EARLIEST_DOCUMENT_DATE:
            raise DateOutOfRange("The issue date is too far in the past")
    if expires_on is not None:
        if expires_on < EARLIEST_DOCUMENT_DATE:
            raise DateOutOfRange("The expiry date is too far in the past")
        if expires_on > _add_years(today, LATEST_EXPIRY_YEARS_AHEAD):
            raise DateOutOfRange("The expiry date is too far in the future")
        if issued_on is not None and expires_on < issued_on:
            raise DateOutOfRange("The expiry date is before the issue date")

# --- loading --------------------------------------------------------------------------------


def load_rulebook(path: Path | None = None) -> Rulebook:
    spec, raw = read_rulebook_file(path)
    return Rulebook(spec, fingerprint=hashlib.sha256(raw).hexdigest())
