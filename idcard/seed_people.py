"""Invented people for ``cityid seed``: syllable names, not a list of real people, phone
numbers in the 555-01xx range kept for fiction, e-mail at example.org."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from enrollment.schemas import Address, Designations, ResidentData

OLDEST = 89

# --- inventing people ----------------------------------------------------------------------

SYLLABLES = ("ba", "dor", "el", "fa", "gor", "ha", "il", "ja", "ka", "lor", "ma", "nel", "ol",
             "pa", "qui", "ra", "sa", "tor", "ul", "va", "wen", "xa", "yor", "za", "bri", "cel",
             "dru", "fen", "lin", "mo", "ne", "ti")
STREETS = ("Street", "Avenue", "Place", "Road", "Boulevard", "Lane")
CITIES = ("Bronx", "Brooklyn", "New York", "Queens", "Staten Island")
LANGUAGES = ("en", "es", "zh", "ru", "bn", "ht", "ko", "ar", "fr", "pl")
GENDERS = ("F", "M", "X", None)


def _invented_name(rng: random.Random, low: int, high: int) -> str:
    # One draw for the whole name: 32 syllables, five bits each.
    bits = rng.getrandbits(5 * high + 2)
    count = low + (bits >> 5 * high) % (high - low + 1)
    return "".join(SYLLABLES[(bits >> 5 * i) & 31] for i in range(count)).capitalize()


@dataclass(frozen=True)
class Person:
    data: ResidentData
    phone: str | None
    email: str | None
    designations: Designations


def invent_person(rng: random.Random, today: date, youngest: int) -> Person:
    born = today - timedelta(days=rng.randint((youngest + 1) * 366, OLDEST * 365))
    first, last = _invented_name(rng, 2, 3), _invented_name(rng, 2, 4)
    address = None
    if rng.random() < 0.97:  # the rest pick their card up in person
        address = Address(line1=f"{rng.randint(1, 2999)} {_invented_name(rng, 2, 2)} "
                                f"{rng.choice(STREETS)}",
                          line2=f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}"
                          if rng.random() < 0.3 else None,
                          city=rng.choice(CITIES), state="NY",
                          postal_code=str(rng.randint(10001, 11697)))
    return Person(
        data=ResidentData(first_name=first, middle_name=_invented_name(rng, 1, 2)
                          if rng.random() < 0.2 else None,
                          last_name=last, date_of_birth=born, address=address),
        phone=f"+1 212 555 01{rng.randint(0, 99):02}" if rng.random() < 0.6 else None,
        email=f"{first.lower()}.{last.lower()}@example.org" if rng.random() < 0.4 else None,
        designations=Designations(gender=rng.choice(GENDERS),
                                  languages=rng.sample(LANGUAGES, rng.choice((0, 1, 1, 2))),
                                  veteran=rng.random() < 0.04, organ_donor=rng.random() < 0.25))
