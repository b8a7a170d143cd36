"""Test data builders."""

from __future__ import annotations

from datetime import date

from enrollment.schemas import Address, ResidentData

KNOWN_FIRST = "Zephyrine"
KNOWN_LAST = "Quillfeather-Abernathy"
KNOWN_DOB = date(1987, 3, 14)
KNOWN_STREET = "742 Evergreen Terrace"


def resident_data(**overrides: object) -> ResidentData:
    values: dict[str, object] = {
        "first_name": KNOWN_FIRST,
        "middle_name": "Ottoline",
        "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB,
        "address": Address(line1=KNOWN_STREET, line2="Apt 5B", city="Springfield", state="NY",
                           postal_code="11201"),
    }
    values.update(overrides)
    return ResidentData.model_validate(values)


def date_spellings(value: date) -> list[str]:
    return [value.isoformat(), value.strftime("%Y%m%d"), value.strftime("%m/%d/%Y"),
            value.strftime("%d/%m/%Y")]
