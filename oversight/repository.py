"""All SQL of oversight/: legal holds, finding what retention must purge, and purging it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from enrollment.models import Application, Resident
from enrollment.states import BEFORE_DECISION, ApplicationStatus
from idcard.models import Card
from oversight.models import LegalHold
from staff.models import StaffToken

OPEN_STATUSES = BEFORE_DECISION


def due_applications(session: Session, *, denied_before: datetime,
                     untouched_before: datetime, exclude: Collection[uuid.UUID],
                     limit: int) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
    """(application, resident) of denied applications and abandoned ones."""
    stmt = (select(Application.id, Application.resident_id).where(or_(
        (Application.status == ApplicationStatus.DENIED) & (Application.decided_at < denied_before),
        Application.status.in_(OPEN_STATUSES) & (Application.updated_at < untouched_before)))
        .order_by(Application.id).limit(limit))
    if exclude:
        stmt = stmt.where(Application.id.not_in(list(exclude)))
    return [(a, r) for a, r in session.execute(stmt)]


def count_due_applications(session: Session, *, denied_before: datetime,
                           untouched_before: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(Application).where(or_(
        (Application.status == ApplicationStatus.DENIED) & (Application.decided_at < denied_before),
        Application.status.in_(OPEN_STATUSES) & (Application.updated_at < untouched_before))))
        or 0)


def residents_with_only_dead_cards(session: Session, *, today: date,
                                   exclude: Collection[uuid.UUID],
                                   limit: int) -> Sequence[uuid.UUID]:
    """Residents whose every card's credential has expired (no card could still verify)."""
    stmt = (select(Card.resident_id).group_by(Card.resident_id)
            .having(func.max(Card.expires_on) < today).order_by(Card.resident_id).limit(limit))
    if exclude:
        stmt = stmt.where(Card.resident_id.not_in(list(exclude)))
    return list(session.scalars(stmt))


def cards_of(session: Session, resident_id: uuid.UUID) -> Sequence[Card]:
    return session.scalars(select(Card).where(Card.resident_id == resident_id)).all()


def lock_resident(session: Session, resident_id: uuid.UUID) -> bool:
    """Lock the resident's row, skipping it if another run holds it; False if it is gone or
    taken. Two retention runs therefore never purge the same resident."""
    row = session.scalars(select(Resident.id).where(Resident.id == resident_id)
                          .with_for_update(skip_locked=True)).first()
    return row is not None


def get_application(session: Session, application_id: uuid.UUID) -> Application | None:
    return session.get(Application, application_id)


def other_applications(session: Session, resident_id: uuid.UUID,
                       application_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(Application).where(
        Application.resident_id == resident_id, Application.id != application_id)) or 0)


def has_cards(session: Session, resident_id: uuid.UUID) -> bool:
    return session.scalar(select(Card.id).where(Card.resident_id == resident_id).limit(1)) \
        is not None


def delete_application(session: Session, application_id: uuid.UUID) -> None:
    session.execute(delete(Application).where(Application.id == application_id))


def delete_resident(session: Session, resident_id: uuid.UUID) -> None:
    """The database cascades to applications, documents, photos, cards and the ledger."""
    session.execute(delete(Resident).where(Resident.id == resident_id))
    session.expunge_all()


def delete_dead_tokens(session: Session, before: datetime) -> int:
    result = session.execute(delete(StaffToken).where(or_(
        StaffToken.expires_at < before, StaffToken.revoked_at < before)))
    return int(getattr(result, "rowcount", 0) or 0)


def applications_of(session: Session, resident_id: uuid.UUID) -> Sequence[Application]:
    return session.scalars(select(Application).where(Application.resident_id == resident_id)
                           .order_by(Application.created_at)).all()


def resident_field_presence(session: Session, batch: int = 5000
                            ) -> Iterator[tuple[uuid.UUID, bytes, bool, bool, bool, bool]]:
    """(id, sealed first name, has address, has care-of, has phone or e-mail, has photo)."""
    from enrollment.models import ResidentPhoto

    last: uuid.UUID | None = None
    while True:
        stmt = (select(Resident.id, Resident.first_name_enc, Resident.address_enc.is_not(None),
                       Resident.care_of_enc.is_not(None),
                       (Resident.phone_enc.is_not(None)) | (Resident.email_enc.is_not(None)),
                       ResidentPhoto.resident_id.is_not(None))
                .outerjoin(ResidentPhoto, ResidentPhoto.resident_id == Resident.id)
                .order_by(Resident.id).limit(batch))
        if last is not None:
            stmt = stmt.where(Resident.id > last)
        rows = session.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield (row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4]), bool(row[5]))
        last = rows[-1][0]


def count_residents_with_only_dead_cards(session: Session, *, today: date) -> int:
    inner = (select(Card.resident_id).group_by(Card.resident_id)
             .having(func.max(Card.expires_on) < today).subquery())
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


# --- legal holds ---------------------------------------------------------------------------


def active_holds(session: Session, subject_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not subject_ids:
        return set()
    return set(session.scalars(select(LegalHold.subject_id).where(
        LegalHold.subject_id.in_(list(subject_ids)), LegalHold.released_at.is_(None))))


def holds_on(session: Session, subject_id: uuid.UUID) -> Sequence[LegalHold]:
    return session.scalars(select(LegalHold).where(LegalHold.subject_id == subject_id)
                           .order_by(LegalHold.placed_at)).all()


def get_hold(session: Session, hold_id: uuid.UUID) -> LegalHold | None:
    return session.get(LegalHold, hold_id)


def add_hold(session: Session, hold: LegalHold) -> None:
    session.add(hold)
    session.flush()


def appointment_field_presence(session: Session, batch: int = 5000
                               ) -> Iterator[tuple[uuid.UUID, bytes, bool]]:
    """(id, sealed first name, has a contact) of every appointment not yet purged."""
    from appointments.models import Appointment

    last: uuid.UUID | None = None
    while True:
        stmt = (select(Appointment.id, Appointment.first_name_enc,
                       Appointment.contact_enc.is_not(None))
                .where(Appointment.first_name_enc.is_not(None))
                .order_by(Appointment.id).limit(batch))
        if last is not None:
            stmt = stmt.where(Appointment.id > last)
        rows = session.execute(stmt).all()
        for appointment_id, first_name, contact in rows:
            yield appointment_id, first_name or b"", bool(contact)
        if len(rows) < batch:
            return
        last = rows[-1][0]
