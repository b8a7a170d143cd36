"""Personal data is ciphertext at rest: the raw database holds none of it in plaintext."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from api.runtime import Runtime
from cityid.db import unit_of_work
from enrollment import residents
from tests.conftest import BACKEND
from tests.factories import (
    KNOWN_DOB,
    KNOWN_FIRST,
    KNOWN_LAST,
    KNOWN_STREET,
    date_spellings,
    resident_data,
)


def raw_database_bytes(runtime: Runtime) -> bytes:
    url = make_url(runtime.settings.effective_database_url)
    if BACKEND == "sqlite":
        runtime.engine.dispose()
        path = Path(url.database or "")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", "-h", url.host or "127.0.0.1",
         "-p", str(url.port or 5432), "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True)
    return dump.stdout


def test_no_personal_value_is_in_the_raw_database(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        residents.register_resident(session, vault=runtime.vault, data=resident_data())
    raw = raw_database_bytes(runtime)
    # The scan sees the data: plain, non-personal values written by the same save are there.
    assert b"residents" in raw or b"data_keys" in raw or len(raw) > 10_000
    for value in [KNOWN_FIRST, KNOWN_LAST, "Quillfeather", KNOWN_STREET, "Evergreen",
                  *date_spellings(KNOWN_DOB)]:
        for encoding in ("utf-8", "utf-16-le"):
            assert value.encode(encoding) not in raw, f"{value!r} is in the database in plaintext"
        assert value.lower().encode() not in raw.lower()


def test_the_scan_would_find_a_plaintext_value(runtime: Runtime) -> None:
    """The check above can fail: a name stored in a plain column is found."""
    from privacy.audit import Actor
    from staff import service as staff_service
    from staff.models import Role

    with unit_of_work(runtime.sessions) as session:
        staff_service.create_account(session, actor=Actor("test", "admin"),
                                     username="zephyrine-plain", password="a long enough password",
                                     role=Role.CLERK)
    assert b"zephyrine-plain" in raw_database_bytes(runtime)
