from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from enrollment.models import Resident


def add_resident(session: Session, resident: Resident) -> None:
    session.add(resident)
    session.flush()


def get_resident(session: Session, resident_id: uuid.UUID) -> Resident | None:
    return session.get(Resident, resident_id)
