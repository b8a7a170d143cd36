"""How the guard reads a name: as words, after folding what a reader would not see. Fast, no
database; tests/api/test_forbidden_fields.py proves the same through every way into the API."""

from __future__ import annotations

from typing import Any

import pytest

from privacy.errors import ForbiddenField
from privacy.forbidden import MAX_DEPTH, check_document, check_names

DISGUISED = {
    "dotted words": "country.of.birth",
    "bracketed words": "green[card]",
    "bracketed with a prefix": "person[place][of][birth]",
    "camelCase inside a longer name": "applicantNationality",
    "snake_case inside a longer name": "primary_passport_number",
    "acronym then a word": "SSNNumber",
    "Cyrillic a": "n\u0430tionality",
    "Cyrillic capitals": "\u0406\u0422\u0406N",
    "Greek capitals": "\u0391_Number",
    "Greek omicron": "passp\u03bfrt_number",
    "fullwidth": "\uff4e\uff41\uff54\uff49\uff4f\uff4e\uff41\uff4c\uff49\uff54\uff59",
    "accents": "Nat\u00efonality",
}

# Refused before the guard read names as words too; kept so that reading them so loses none.
ALSO_REFUSED = {
    "slashed words": "birth/country",
    "combining mark": "citizens\u0301hip",
    "zero-width joiner between words": "visa\u200d.type",
    "non-breaking spaces": "country\u00a0of\u00a0birth",
}

ALLOWED = ["date_of_birth", "card_number", "first_name", "care_of", "reference", "purpose",
           "Idempotency-Key", "cityid_session", "x-csrf-token", "sec-ch-ua-platform",
           "shows_date_of_birth", "issue_number", "partner_type", "expires_in_days"]


@pytest.mark.parametrize("name", [*DISGUISED.values(), *ALSO_REFUSED.values()],
                         ids=[*DISGUISED, *ALSO_REFUSED])
def test_a_disguised_forbidden_name_is_refused(name: str) -> None:
    with pytest.raises(ForbiddenField):
        check_names([name])


@pytest.mark.parametrize("name", ALLOWED)
def test_the_programs_own_names_pass(name: str) -> None:
    check_names([name])


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {"harmless": 1}
    for _ in range(depth):
        document = {"level": document}
    return document


def test_a_document_nested_past_the_limit_is_refused_not_skipped() -> None:
    check_document(_nested(MAX_DEPTH - 1))
    with pytest.raises(ForbiddenField):
        check_document(_nested(MAX_DEPTH + 5))
    with pytest.raises(ForbiddenField):
        check_document({"list": [[[[[_nested(MAX_DEPTH)]]]]]})
