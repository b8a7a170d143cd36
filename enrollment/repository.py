"""All SQL of enrollment/."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.models import (
    Application,
    ApplicationDocument,
    DuplicateFlag,
    Resident,
    ResidentPhoto,
)
from enrollment.states import ApplicationStatus


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def get_resident(session: Session, resident_id: uuid.UUID) -> Resident | None:
    return session.get(Resident, resident_id)


def birth_date_blob(session: Session, resident_id: uuid.UUID) -> bytes | None:
    """Only the sealed date of birth: one column, found or not, at one cost."""
    return session.scalar(select(Resident.date_of_birth_enc).where(Resident.id == resident_id))


def add_resident(session: Session, resident: Resident) -> None:
    add(session, resident)


def application_by_reference_index(session: Session, index: str, *,
                                   for_update: bool = False) -> Application | None:
    stmt = select(Application).where(Application.reference_index == index)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def get_application(session: Session, application_id: uuid.UUID) -> Application | None:
    return session.get(Application, application_id)


def documents_of(session: Session, application_id: uuid.UUID) -> Sequence[ApplicationDocument]:
    return session.scalars(select(ApplicationDocument)
                           .where(ApplicationDocument.application_id == application_id)
                           .order_by(ApplicationDocument.checked_at)).all()


def get_photo(session: Session, resident_id: uuid.UUID) -> ResidentPhoto | None:
    return session.get(ResidentPhoto, resident_id)


def has_photo(session: Session, resident_id: uuid.UUID) -> bool:
    return session.scalar(select(ResidentPhoto.resident_id)
                          .where(ResidentPhoto.resident_id == resident_id)) is not None


def applications_of_person(session: Session, person_index: str,
                           exclude_resident: uuid.UUID) -> Sequence[Application]:
    """Other applications by someone with the same normalised name and date of birth."""
    return session.scalars(
        select(Application).join(Resident, Resident.id == Application.resident_id)
        .where(Resident.person_index == person_index, Resident.id != exclude_resident,
               Application.status != ApplicationStatus.DENIED)
    ).all()


def applications_by_person_index(session: Session, person_index: str,
                                  limit: int = 20) -> Sequence[Application]:
    """Every application of the people with this normalised name and date of birth (the lost
    reference lookup): one indexed match, nothing decrypted to find it."""
    return session.scalars(
        select(Application).join(Resident, Resident.id == Application.resident_id)
        .where(Resident.person_index == person_index)
        .order_by(Application.created_at.desc(), Application.id).limit(limit)).all()


def duplicate_flags_of(session: Session, application_id: uuid.UUID) -> Sequence[DuplicateFlag]:
    return session.scalars(select(DuplicateFlag)
                           .where(DuplicateFlag.application_id == application_id)).all()


def open_duplicate_flags(session: Session, limit: int = 200) -> Sequence[DuplicateFlag]:
    return session.scalars(select(DuplicateFlag).where(DuplicateFlag.status == "open")
                           .order_by(DuplicateFlag.created_at).limit(limit)).all()


def get_duplicate_flag(session: Session, flag_id: uuid.UUID, *,
                       for_update: bool = False) -> DuplicateFlag | None:
    stmt = select(DuplicateFlag).where(DuplicateFlag.id == flag_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()
