"""Residents: their personal fields are sealed through privacy/ before they reach the database."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cityid.clock import Clock, system_clock
from cityid.errors import NotFound
from enrollment import repository
from enrollment.models import Resident
from enrollment.schemas import Address, ResidentData
from privacy.vault import RecordCipher, Vault

TABLE = "residents"


class ResidentNotFound(NotFound):
    code = "resident_not_found"
    title = "No such resident"


def _seal(cipher: RecordCipher, resident: Resident, data: ResidentData) -> None:
    resident.first_name_enc = cipher.seal("first_name", data.first_name.encode())
    resident.middle_name_enc = cipher.seal_text("middle_name", data.middle_name)
    resident.last_name_enc = cipher.seal("last_name", data.last_name.encode())
    resident.date_of_birth_enc = cipher.seal("date_of_birth",
                                             data.date_of_birth.isoformat().encode())
    resident.address_enc = cipher.seal_json(
        "address", data.address.model_dump() if data.address else None)


def register_resident(session: Session, *, vault: Vault, data: ResidentData,
                      clock: Clock = system_clock) -> Resident:
    resident_id = uuid.uuid4()
    key = vault.create_data_key(session, resident_id)
    resident = Resident(id=resident_id, created_at=clock.now())
    _seal(key.record(TABLE, resident_id), resident, data)
    repository.add_resident(session, resident)
    return resident


def read_resident(session: Session, *, vault: Vault, resident_id: uuid.UUID) -> ResidentData:
    resident = repository.get_resident(session, resident_id)
    if resident is None:
        raise ResidentNotFound()
    cipher = vault.open_data_key(session, resident_id).record(TABLE, resident_id)
    address = cipher.open_json("address", resident.address_enc)
    dob = cipher.open_date("date_of_birth", resident.date_of_birth_enc)
    assert dob is not None
    return ResidentData(
        first_name=cipher.open("first_name", resident.first_name_enc).decode(),
        middle_name=cipher.open_text("middle_name", resident.middle_name_enc),
        last_name=cipher.open("last_name", resident.last_name_enc).decode(),
        date_of_birth=dob,
        address=Address(**address) if address else None,
    )
