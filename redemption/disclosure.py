"""What a partner is shown of a valid card: the attributes its policy names, each read by its own
reader, and nothing else read at all.

The readers are a table (attribute name -> function) rather than an ``if`` per attribute, and
the policy file is checked against the table when it is loaded: an attribute no reader knows
would otherwise be silently never shown, or shown by a reader no one reviewed.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cached_property
from typing import Any, Protocol, get_args

from sqlalchemy.orm import Session

from enrollment import service as enrollment
from enrollment.schemas import Address, CareOf
from idcard import service as cards
from idcard.models import Card
from idcard.service import CardDesk
from partners.schemas import Attribute
from partners.service import holder_token


class HolderFacts(Protocol):
    @property
    def full_name(self) -> str: ...
    @property
    def date_of_birth(self) -> date: ...
    @property
    def address(self) -> Address | None: ...
    @property
    def care_of(self) -> CareOf | None: ...


class DisclosureSource(Protocol):
    """Where the readers read a card and its holder from; each part is read only when asked."""

    @property
    def expires_on(self) -> date: ...
    def holder_token(self) -> str: ...
    def card_number(self) -> str: ...
    def holder(self) -> HolderFacts: ...
    def photo(self) -> bytes | None: ...


def _address(source: DisclosureSource) -> dict[str, Any] | None:
    holder = source.holder()
    # Where the real address is withheld, the care-of address stands in.
    if holder.address is not None:
        return holder.address.model_dump()
    if holder.care_of is not None:
        return {"care_of": True, **holder.care_of.model_dump()}
    return None


def _photo(source: DisclosureSource) -> str | None:
    photo = source.photo()
    return "data:image/jpeg;base64," + base64.b64encode(photo).decode() if photo else None


READERS: Mapping[str, Callable[[DisclosureSource], Any]] = {
    # Only a valid card is disclosed at all, so its validity reads as such.
    "validity": lambda source: "valid",
    "expires_on": lambda source: source.expires_on.isoformat(),
    "holder_token": lambda source: source.holder_token(),
    "card_number": lambda source: source.card_number(),
    "full_name": lambda source: source.holder().full_name,
    "date_of_birth": lambda source: source.holder().date_of_birth.isoformat(),
    "address": _address,
    "photo": _photo,
}


class UnknownAttribute(ValueError):
    """A policy names an attribute no reader knows; the program does not start."""


def check_attributes(where: str, attributes: Iterable[str]) -> None:
    unknown = sorted(set(attributes) - READERS.keys())
    if unknown:
        raise UnknownAttribute(f"{where}: no reader for the attribute(s) {', '.join(unknown)}; "
                               f"known: {', '.join(READERS)}")


def check_profiles(profiles: Mapping[str, Mapping[str, Any]]) -> None:
    """Every attribute a partner type's profile names has a reader."""
    for partner_type, profile in profiles.items():
        check_attributes(f"policies.yaml: {partner_type}", profile.get("attributes", []))


# The attributes an admin may give a partner (redemption.schemas) are exactly those with a reader.
check_attributes("redemption.schemas.Attribute", get_args(Attribute))
if set(get_args(Attribute)) != READERS.keys():
    raise UnknownAttribute("redemption.schemas.Attribute and the readers disagree")


def disclose_from(source: DisclosureSource, wanted: Iterable[str]) -> dict[str, Any]:
    """The wanted attributes, in the table's order; an attribute not wanted is not read."""
    names = set(wanted)
    return {name: read(source) for name, read in READERS.items() if name in names}


class StoredCard:
    """A card in the database as a disclosure source: the holder's record is opened once, and
    only if an attribute needs it."""

    def __init__(self, session: Session, desk: CardDesk, partner_id: uuid.UUID,
                 card: Card) -> None:
        self._session, self._desk, self._partner_id, self._card = session, desk, partner_id, card

    @property
    def expires_on(self) -> date:
        return self._card.expires_on

    def holder_token(self) -> str:
        return holder_token(self._desk.vault, self._partner_id, self._card.resident_id)

    def card_number(self) -> str:
        return cards.card_number_of(self._session, self._desk, self._card)

    @cached_property
    def _holder(self) -> enrollment.Holder:
        return enrollment.read_holder(self._session, vault=self._desk.vault,
                                      resident_id=self._card.resident_id)

    def holder(self) -> HolderFacts:
        return self._holder

    def photo(self) -> bytes | None:
        return enrollment.read_photo(self._session, vault=self._desk.vault,
                                     resident_id=self._card.resident_id)
