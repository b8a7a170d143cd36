"""Test data builders."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from cityid.db import unit_of_work
from enrollment.schemas import Address, ResidentData
from privacy import repository as audit_repository
from privacy.models import AuditEntry

if TYPE_CHECKING:
    from api.runtime import Runtime

KNOWN_FIRST = "Zephyrine"
KNOWN_LAST = "Quillfeather-Abernathy"
KNOWN_DOB = date(1987, 3, 14)
KNOWN_STREET = "742 Evergreen Terrace"


def resident_data(**overrides: object) -> ResidentData:
    values: dict[str, object] = {
        "first_name": KNOWN_FIRST,
        "middle_name": "Ottoline",
        "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB,
        "address": Address(line1=KNOWN_STREET, line2="Apt 5B", city="Springfield", state="NY",
                           postal_code="11201"),
    }
    values.update(overrides)
    return ResidentData.model_validate(values)


def date_spellings(value: date) -> list[str]:
    return [value.isoformat(), value.strftime("%Y%m%d"), value.strftime("%m/%d/%Y"),
            value.strftime("%d/%m/%Y")]


def photo_png(size: tuple[int, int] = (600, 800)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 150, 120)).save(buffer, "PNG")
    return buffer.getvalue()


def application_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "first_name": KNOWN_FIRST,
        "last_name": KNOWN_LAST,
        "date_of_birth": KNOWN_DOB.isoformat(),
        "address": {"line1": KNOWN_STREET, "city": "Springfield", "state": "NY",
                    "postal_code": "11201"},
        "phone": "+1 212 555 0100",
        "designations": {"gender": "X", "languages": ["es", "en"], "veteran": True},
    }
    body.update(overrides)
    return body


def audit_trail(runtime: Runtime) -> list[AuditEntry]:
    """Every audit entry so far, in chain order: waiting entries are linked first, as the API's
    chainer would a moment later."""
    runtime.audit_chainer.drain()
    with unit_of_work(runtime.sessions) as session:
        entries = list(audit_repository.iter_audit_entries(session))
        session.expunge_all()
    return entries
