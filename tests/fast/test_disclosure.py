"""Disclosure through the table of attribute readers (redemption/disclosure.py), from an
in-memory card: what each partner type is shown, and that nothing it is not shown is read."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from enrollment.schemas import Address, CareOf
from partners.service import profiles
from redemption import disclosure
from redemption.disclosure import (
    READERS,
    UnknownAttribute,
    check_profiles,
    disclose_from,
)

HOME = Address(line1="1 Main St", city="Springfield", state="NY", postal_code="10001")
SHELTER = CareOf(organisation="Harbor House", line1="5 Dock Rd", city="Springfield", state="NY",
                 postal_code="10002")


@dataclass(frozen=True)
class Holder:
    full_name: str = "Ana María López"
    date_of_birth: date = date(1990, 4, 2)
    address: Address | None = field(default_factory=lambda: HOME)
    care_of: CareOf | None = None


@dataclass
class FakeCard:
    """A card and its holder in memory; counts what the readers opened."""

    holder_facts: Holder = field(default_factory=Holder)
    photo_bytes: bytes | None = b"\xff\xd8jpeg"
    expires_on: date = date(2030, 1, 31)
    reads: list[str] = field(default_factory=list)

    def holder_token(self) -> str:
        self.reads.append("holder_token")
        return "tok"

    def card_number(self) -> str:
        self.reads.append("card_number")
        return "1234 5678 9012"

    def holder(self) -> Holder:
        self.reads.append("holder")
        return self.holder_facts

    def photo(self) -> bytes | None:
        self.reads.append("photo")
        return self.photo_bytes


def attributes_of(partner_type: str) -> list[str]:
    return list(profiles()[partner_type]["attributes"])


def test_a_cultural_partner_sees_validity_expiry_and_its_token_and_no_person() -> None:
    source = FakeCard()
    shown = disclose_from(source, attributes_of("cultural"))
    assert shown == {"validity": "valid", "expires_on": "2030-01-31", "holder_token": "tok"}
    # The holder's record and photo are never opened for a partner that is not shown them.
    assert source.reads == ["holder_token"]


def test_a_bank_sees_the_identity_attributes() -> None:
    source = FakeCard()
    shown = disclose_from(source, attributes_of("bank"))
    assert shown == {"validity": "valid", "expires_on": "2030-01-31", "holder_token": "tok",
                     "card_number": "1234 5678 9012", "full_name": "Ana María López",
                     "date_of_birth": "1990-04-02", "address": HOME.model_dump()}
    assert "photo" not in source.reads


def test_police_see_the_photo_but_not_the_address() -> None:
    shown = disclose_from(FakeCard(), attributes_of("police"))
    jpeg = base64.b64encode(b"\xff\xd8jpeg").decode()
    assert shown["photo"] == "data:image/jpeg;base64," + jpeg
    assert "address" not in shown and "card_number" not in shown


def test_a_missing_photo_is_disclosed_as_none() -> None:
    assert disclose_from(FakeCard(photo_bytes=None), ["validity", "photo"])["photo"] is None


def test_the_care_of_address_stands_in_where_the_real_one_is_withheld() -> None:
    source = FakeCard(holder_facts=Holder(address=None, care_of=SHELTER))
    assert disclose_from(source, ["address"])["address"] == {"care_of": True,
                                                             **SHELTER.model_dump()}


def test_no_address_at_all_is_disclosed_as_none() -> None:
    source = FakeCard(holder_facts=Holder(address=None, care_of=None))
    assert disclose_from(source, ["address"]) == {"address": None}


def test_only_the_policys_attributes_are_read() -> None:
    for name in READERS:
        source = FakeCard()
        shown = disclose_from(source, [name])
        assert list(shown) == [name]
        # Each reader opens at most its own part (the name, birth date and address are all in
        # the holder's record).
        assert set(source.reads) <= {name, "holder"}


def test_every_shipped_profile_has_readers_for_its_attributes() -> None:
    check_profiles(profiles())


def test_a_profile_naming_an_unknown_attribute_is_refused_at_load() -> None:
    bad: dict[str, Any] = {"museum": {"attributes": ["validity", "nationality"]}}
    with pytest.raises(UnknownAttribute, match="nationality"):
        check_profiles(bad)


def test_the_attributes_an_admin_can_grant_are_exactly_those_with_readers() -> None:
    from typing import get_args

    from partners.schemas import Attribute

    assert set(get_args(Attribute)) == set(disclosure.READERS)
