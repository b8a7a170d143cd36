"""Residents: a person's sealed fields, written once at intake and read back for the clerk's
view, the card, and a partner's date-of-birth check.

Which fields are sealed, and how each is encoded, is declared on the models
(``Resident.__sealed__``, ``ResidentPhoto.__sealed__``); the vault seals and opens them from
that declaration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import NotFound
from enrollment import repository
from enrollment.models import Resident, ResidentPhoto
from enrollment.schemas import Address, CareOf, Designations, ResidentData
from privacy.normalise import normalise_person
from privacy.vault import Vault

RESIDENTS, PHOTOS = Resident.__tablename__, ResidentPhoto.__tablename__
# The sealed fields ResidentData carries, and those a card holder is read with.
RESIDENT_DATA_FIELDS = ("first_name", "middle_name", "last_name", "date_of_birth", "address")
HOLDER_FIELDS = (*RESIDENT_DATA_FIELDS, "care_of", "designations")


class ResidentNotFound(NotFound):
    code = "resident_not_found"
    title = "No such resident"


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def resident_fields(data: ResidentData) -> dict[str, Any]:
    """The sealed fields of a resident that ``ResidentData`` carries, as the vault seals them."""
    return {"first_name": data.first_name, "middle_name": data.middle_name,
            "last_name": data.last_name, "date_of_birth": data.date_of_birth,
            "address": data.address.model_dump() if data.address else None}


def register_resident(session: Session, *, vault: Vault, data: ResidentData,
                      clock: Clock = system_clock) -> Resident:
    resident_id = uuid.uuid4()
    key = vault.create_data_key(session, resident_id)
    resident = Resident(id=resident_id, created_at=clock.now(),
                        person_index=vault.blind_index("person", normalise_person(
                            data.first_name, data.last_name, data.date_of_birth)))
    key.seal_fields(resident, resident_fields(data))
    repository.add_resident(session, resident)
    return resident


def _resident(session: Session, resident_id: uuid.UUID) -> Resident:
    resident = repository.get_resident(session, resident_id)
    if resident is None:
        raise ResidentNotFound()
    return resident


def read_resident(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> ResidentData:
    resident = _resident(session, resident_id)
    opened = vault.open_fields(session, resident, *RESIDENT_DATA_FIELDS)
    address = opened.pop("address")
    return ResidentData(**opened, address=Address(**address) if address else None)


@dataclass(frozen=True)
class Holder:
    """What a card shows and signs: read for issuing and rendering, never stored in the clear."""

    resident_id: uuid.UUID
    first_name: str
    middle_name: str | None
    last_name: str
    date_of_birth: date
    address: Address | None
    care_of: CareOf | None
    designations: Designations

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


def read_holder(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> Holder:
    resident = _resident(session, resident_id)
    opened = vault.open_fields(session, resident, *HOLDER_FIELDS)
    address, care_of, designations = (opened.pop(f) for f in ("address", "care_of",
                                                               "designations"))
    return Holder(resident_id=resident_id, **opened,
                  address=Address(**address) if address else None,
                  care_of=CareOf(**care_of) if care_of else None,
                  designations=Designations(**designations) if designations else Designations())


def read_birth_date(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> date | None:
    """Only the date of birth, for checking one a partner was told. For an id that is no
    resident's (the vault's decoy owner, when a card number is unknown) the same reads and the
    same decryption run on a decoy and the answer is None, so both answers take one time."""
    plain = vault.open_field_or_decoy(session, resident_id, RESIDENTS, "date_of_birth",
                                      repository.birth_date_blob(session, resident_id),
                                      length=len("2000-01-01"))
    return date.fromisoformat(plain.decode()) if plain is not None else None


def read_photo(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> bytes | None:
    photo = repository.get_photo(session, resident_id)
    if photo is None:
        return None
    jpeg: bytes = vault.open_fields(session, photo, "photo")["photo"]
    return jpeg
