from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import residents
from enrollment.models import Resident
from privacy.errors import DataKeyShredded, DecryptionFailed
from privacy.keyring import Keyring
from privacy.normalise import normalise_name, normalise_person
from privacy.vault import DataKeyHandle, unwrap_dek
from tests.factories import KNOWN_DOB, resident_data


def test_a_resident_reads_back_what_was_saved(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        resident = residents.register_resident(session, vault=runtime.vault,
                                                        data=resident_data())
    with unit_of_work(runtime.sessions) as session:
        assert residents.read_resident(session, vault=runtime.vault,
                                                resident_id=resident.id) == resident_data()


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(runtime: Runtime,
                                                            session: Session) -> None:
    key = runtime.vault.create_data_key(session, uuid.uuid4())
    row_a, row_b = uuid.uuid4(), uuid.uuid4()
    sealed = key.record("residents", row_a).seal("first_name", b"Ana")
    assert key.record("residents", row_a).open("first_name", sealed) == b"Ana"
    with pytest.raises(DecryptionFailed):
        key.record("residents", row_b).open("first_name", sealed)
    with pytest.raises(DecryptionFailed):
        key.record("residents", row_a).open("last_name", sealed)


def test_shredding_the_data_key_makes_the_fields_unreadable_even_with_the_keyring(
        runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        resident = residents.register_resident(session, vault=runtime.vault,
                                                        data=resident_data())
        from privacy import repository
        stored = repository.get_data_key(session, resident.id)
        assert stored is not None
        wrapped, version = stored.wrapped_dek, stored.kek_version
    with unit_of_work(runtime.sessions) as session:
        assert runtime.vault.shred(session, resident.id)
    with unit_of_work(runtime.sessions) as session:
        with pytest.raises(DataKeyShredded):
            residents.read_resident(session, vault=runtime.vault,
                                             resident_id=resident.id)
        row = session.get(Resident, resident.id)
        assert row is not None
        # The keyring alone opens nothing: the DEK it wrapped is gone from the database.
        assert repository.get_data_key(session, resident.id) is None
        # Only an old copy of the wrapped DEK could have opened it (as a restored backup would,
        # which is why backups must not outlive the retention period).
        assert unwrap_dek(runtime.vault.provider, resident.id, wrapped, version)
        stranger = DataKeyHandle(resident.id, uuid.uuid4().bytes * 2).record("residents",
                                                                             resident.id)
        with pytest.raises(DecryptionFailed):
            stranger.open("first_name", row.first_name_enc)


def test_blind_indexes_ignore_case_accents_spacing_and_hyphens(runtime: Runtime) -> None:
    a = runtime.vault.blind_index("person", normalise_person("José", "García-Márquez", KNOWN_DOB))
    b = runtime.vault.blind_index("person", normalise_person(" jose ", "garcia marquez", KNOWN_DOB))
    assert a == b
    assert normalise_name("Zoë O'Neil-Smith") == "zoeoneilsmith"


def test_blind_indexes_differ_by_purpose_and_by_key(runtime: Runtime) -> None:
    assert runtime.vault.blind_index("person", "x") != runtime.vault.blind_index("card", "x")
    other = Keyring.generate()
    import hashlib
    import hmac
    assert other.index_key is not None
    foreign = hmac.new(other.index_key, b"person\x00x", hashlib.sha256).hexdigest()
    assert runtime.vault.blind_index("person", "x") != foreign
