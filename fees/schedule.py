"""The fee schedule (schedule.yaml), read and checked once: kinds, age bands, amounts in cents
and the waiver reason codes."""

from __future__ import annotations

import bisect
import enum
import hashlib
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_CENTS = 1_000_000  # $10,000: a bound that catches a typo (dollars typed as cents x 100)


class FeeKind(enum.StrEnum):
    NEW_CARD = "new_card"
    REPLACEMENT = "replacement"
    RENEWAL = "renewal"


class ScheduleInvalid(ValueError):
    pass


@dataclass(frozen=True)
class FeeDue:
    kind: FeeKind
    band: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class FeeSchedule:
    currency: str
    # (from_age, band), rising
    bands: tuple[tuple[int, str], ...]
    fees: dict[FeeKind, dict[str, int]]
    waiver_reasons: frozenset[str]
    fingerprint: str

    def band_of(self, age: int) -> str:
        if age < 0:
            raise ValueError("an age is never negative")
        ages = [start for start, _ in self.bands]
        return self.bands[bisect.bisect_right(ages, age) - 1][1]

    def due(self, kind: FeeKind, age: int) -> FeeDue:
        band = self.band_of(age)
        return FeeDue(kind=kind, band=band, amount_cents=self.fees[kind][band],
                      currency=self.currency)


def _code(where: str, value: object) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise ScheduleInvalid(f"{where}: {value!r} is not a code (a-z, 0-9, _)")
    return value


def parse_schedule(text: str) -> FeeSchedule:
    data: Any = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScheduleInvalid("the fee schedule is a mapping")
    if extra := set(data) - {"currency", "age_bands", "fees", "waiver_reasons"}:
        raise ScheduleInvalid(f"unknown keys {sorted(extra)}")
    currency = data.get("currency")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise ScheduleInvalid("currency: three capital letters (ISO 4217)")
    bands: list[tuple[int, str]] = []
    for i, entry in enumerate(data.get("age_bands") or []):
        if not isinstance(entry, dict) or set(entry) != {"band", "from_age"}:
            raise ScheduleInvalid(f"age_bands[{i}]: give band and from_age")
        start = entry["from_age"]
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise ScheduleInvalid(f"age_bands[{i}].from_age: a whole number of years")
        bands.append((start, _code(f"age_bands[{i}].band", entry["band"])))
    if not bands or bands[0][0] != 0:
        raise ScheduleInvalid("age_bands: the first band starts at age 0")
    if any(b[0] >= a[0] for b, a in itertools.pairwise(bands)):
        raise ScheduleInvalid("age_bands: each band starts at a higher age than the one before")
    names = [name for _, name in bands]
    if len(set(names)) != len(names):
        raise ScheduleInvalid("age_bands: a band is named twice")
    table = data.get("fees")
    if not isinstance(table, dict):
        raise ScheduleInvalid("fees: a mapping of kinds")
    if set(table) != {k.value for k in FeeKind}:
        raise ScheduleInvalid(f"fees: give exactly the kinds {sorted(k.value for k in FeeKind)}")
    fees: dict[FeeKind, dict[str, int]] = {}
    for kind in FeeKind:
        row = table[kind.value]
        if not isinstance(row, dict) or set(row) != set(names):
            raise ScheduleInvalid(f"fees.{kind.value}: give an amount for each of {names}")
        for band, cents in row.items():
            if (not isinstance(cents, int) or isinstance(cents, bool)
                    or not 0 <= cents <= MAX_CENTS):
                raise ScheduleInvalid(f"fees.{kind.value}.{band}: whole cents, 0 to {MAX_CENTS}")
        fees[kind] = dict(row)
    reasons = data.get("waiver_reasons")
    if not isinstance(reasons, list) or not reasons:
        raise ScheduleInvalid("waiver_reasons: a list of codes")
    waivers = frozenset(_code("waiver_reasons", r) for r in reasons)
    return FeeSchedule(currency=currency, bands=tuple(bands), fees=fees,
                       waiver_reasons=waivers,
                       fingerprint=hashlib.sha256(text.encode()).hexdigest()[:16])


@lru_cache(maxsize=1)
def schedule() -> FeeSchedule:
    """The shipped schedule. Services call this at the moment a fee is computed."""
    return parse_schedule(resources.files("fees").joinpath("schedule.yaml").read_text("utf-8"))


# Checked when the program loads: a schedule that does not hold together stops it at start.
schedule()
