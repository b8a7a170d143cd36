"""Normalisation of values before they are blind-indexed, so that case, accents, spacing and
hyphens do not hide a duplicate."""

from __future__ import annotations

import unicodedata
from datetime import date


def normalise_name(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in stripped.casefold() if c.isalnum())


def normalise_person(first: str, last: str, date_of_birth: date) -> str:
    return f"{normalise_name(first)}|{normalise_name(last)}|{date_of_birth.isoformat()}"
