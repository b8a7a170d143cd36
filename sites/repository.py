"""All SQL of sites, closures, staff links and slots."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sites.models import Site, SiteClosure, Slot, StaffSite


def add(session: Session, row: Site | SiteClosure | StaffSite) -> None:
    session.add(row)


def get_site(session: Session, site_id: uuid.UUID, *, lock: bool = False) -> Site | None:
    query = select(Site).where(Site.id == site_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def site_by_name_key(session: Session, name_key: str) -> Site | None:
    return session.scalars(select(Site).where(Site.name_key == name_key)).one_or_none()


def list_sites(session: Session, *, active_only: bool = False) -> Sequence[Site]:
    query = select(Site).order_by(Site.name)
    if active_only:
        query = query.where(Site.active.is_(True))
    return session.scalars(query).all()


def closures(session: Session, site_id: uuid.UUID) -> Sequence[SiteClosure]:
    return session.scalars(select(SiteClosure).where(SiteClosure.site_id == site_id)
                           .order_by(SiteClosure.day)).all()


def closure_on(session: Session, site_id: uuid.UUID, day: date) -> SiteClosure | None:
    return session.scalars(select(SiteClosure).where(SiteClosure.site_id == site_id,
                                                     SiteClosure.day == day)).one_or_none()


def staff_of(session: Session, site_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(StaffSite.staff_id).where(StaffSite.site_id == site_id)
                                .order_by(StaffSite.staff_id)))


def works_at(session: Session, staff_id: uuid.UUID, site_id: uuid.UUID) -> bool:
    return session.get(StaffSite, (staff_id, site_id)) is not None


def sites_of_staff(session: Session, staff_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.scalars(select(StaffSite.site_id).where(StaffSite.staff_id == staff_id)))


def unlink_staff(session: Session, staff_id: uuid.UUID, site_id: uuid.UUID) -> bool:
    result = session.execute(delete(StaffSite).where(StaffSite.staff_id == staff_id,
                                                     StaffSite.site_id == site_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def existing_slot_keys(session: Session, site_id: uuid.UUID, first: date,
                       last: date) -> set[tuple[datetime, int]]:
    rows = session.execute(select(Slot.starts_at, Slot.desk).where(
        Slot.site_id == site_id, Slot.local_day >= first, Slot.local_day <= last))
    return {(at, desk) for at, desk in rows}


def add_slots(session: Session, slots: Iterable[Slot]) -> int:
    rows = list(slots)
    session.add_all(rows)
    session.flush()
    return len(rows)


def get_slot(session: Session, slot_id: uuid.UUID) -> Slot | None:
    return session.get(Slot, slot_id)


def slot_ids_on(session: Session, site_id: uuid.UUID, day: date) -> list[uuid.UUID]:
    return list(session.scalars(select(Slot.id).where(Slot.site_id == site_id,
                                                      Slot.local_day == day)))


def delete_slots(session: Session, slot_ids: Iterable[uuid.UUID]) -> int:
    ids = list(slot_ids)
    if not ids:
        return 0
    result = session.execute(delete(Slot).where(Slot.id.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_slots(session: Session, site_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(Slot)
                              .where(Slot.site_id == site_id)) or 0)

