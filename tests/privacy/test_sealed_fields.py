"""Sealed fields are declared once, on the model (``__sealed__``), and the vault seals and opens
them from that declaration, in the stored format the services always wrote: ``FIELD_FORMAT``,
a nonce and AES-GCM under the owner's data key, with table|field|row as associated data."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date

import pytest
from sqlalchemy import LargeBinary

from cityid.db import Base
from enrollment.models import Application, Resident, ResidentPhoto
from idcard.models import Card
from privacy.errors import DecryptionFailed
from privacy.sealed import models_with_sealed_fields, sealed_fields_of
from privacy.vault import FIELD_FORMAT, DataKeyHandle


def _key() -> DataKeyHandle:
    return DataKeyHandle(uuid.uuid4(), secrets.token_bytes(32))


def test_every_encrypted_column_is_a_declared_sealed_field_and_back() -> None:
    declared = {m.__tablename__: m for m in models_with_sealed_fields()}
    assert {"residents", "resident_photos", "applications", "cards"} <= set(declared)
    for table in Base.metadata.sorted_tables:
        encrypted = {c.name.removesuffix("_enc") for c in table.columns
                     if c.name.endswith("_enc")}
        model = declared.get(table.name)
        fields = set(sealed_fields_of(model).fields) if model is not None else set()
        assert encrypted == fields, f"{table.name}: _enc columns and __sealed__ disagree"
        for name in fields:
            assert isinstance(table.columns[f"{name}_enc"].type, LargeBinary), (table.name, name)


def test_declared_fields_seal_in_the_format_the_services_wrote() -> None:
    key = _key()
    resident = Resident(id=key.owner_id)
    address = {"line1": "1 Main St", "line2": None, "city": "Queens", "state": "NY",
               "postal_code": "11101"}
    key.seal_fields(resident, {"first_name": "Zoë", "middle_name": None,
                               "date_of_birth": date(1990, 2, 3), "address": address})
    cipher = key.record("residents", resident.id)
    assert resident.first_name_enc is not None and resident.first_name_enc[:1] == FIELD_FORMAT
    assert cipher.open("first_name", resident.first_name_enc) == "Zoë".encode()
    assert resident.middle_name_enc is None
    assert cipher.open("date_of_birth", resident.date_of_birth_enc) == b"1990-02-03"
    assert resident.address_enc is not None
    assert cipher.open("address", resident.address_enc) == json.dumps(
        address, sort_keys=True, separators=(",", ":")).encode()


def test_opened_fields_come_back_as_their_declared_types() -> None:
    key = _key()
    resident = Resident(id=key.owner_id)
    values = {"first_name": "Ana", "middle_name": None, "last_name": "Ruiz",
              "date_of_birth": date(2001, 12, 31), "address": None, "care_of": None,
              "phone": "+1 212 555 0100", "email": None,
              "designations": {"gender": "X", "languages": ["es"]}}
    key.seal_fields(resident, values)
    assert key.open_fields(resident) == values
    assert key.open_fields(resident, "last_name") == {"last_name": "Ruiz"}


def test_a_photo_row_is_named_by_its_resident_and_a_card_by_its_own_id() -> None:
    key = _key()
    photo = ResidentPhoto(resident_id=key.owner_id)
    key.seal_fields(photo, {"photo": b"\xff\xd8jpeg"})
    assert key.record("resident_photos", key.owner_id).open("photo", photo.photo_enc) \
        == b"\xff\xd8jpeg"
    card = Card(id=uuid.uuid4(), resident_id=key.owner_id)
    key.seal_fields(card, {"card_number": "4111111111111111"})
    assert key.record("cards", card.id).open("card_number", card.card_number_enc) \
        == b"4111111111111111"


def test_a_sealed_field_moved_to_another_field_or_row_does_not_open() -> None:
    key = _key()
    application = Application(id=uuid.uuid4(), resident_id=key.owner_id)
    key.seal_fields(application, {"reference": "K3F9-7QXM-2T4A", "caretaker": None})
    other = Application(id=uuid.uuid4(), resident_id=key.owner_id,
                        reference_enc=application.reference_enc)
    with pytest.raises(DecryptionFailed):
        key.open_fields(other, "reference")
    application.caretaker_enc = application.reference_enc
    with pytest.raises(DecryptionFailed):
        key.open_fields(application, "caretaker")


def test_a_field_the_model_does_not_declare_is_refused() -> None:
    key = _key()
    with pytest.raises(ValueError, match="not a sealed field"):
        key.seal_fields(Resident(id=key.owner_id), {"person_index": "abc"})
