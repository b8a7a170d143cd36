"""All SQL of partners/."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityid.db import name_key
from partners.models import Partner, PartnerKey


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def get_partner(session: Session, partner_id: uuid.UUID) -> Partner | None:
    return session.get(Partner, partner_id)


def partner_by_name(session: Session, name: str) -> Partner | None:
    return session.scalars(select(Partner).where(Partner.name_key == name_key(name))).first()


def list_partners(session: Session) -> Sequence[Partner]:
    return session.scalars(select(Partner).order_by(Partner.name)).all()


def partners_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Partner]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Partner).where(Partner.id.in_(ids)))}


def key_with_partner(session: Session, key_hash: str) -> tuple[PartnerKey, Partner] | None:
    row = session.execute(select(PartnerKey, Partner)
                          .join(Partner, Partner.id == PartnerKey.partner_id)
                          .where(PartnerKey.key_hash == key_hash)).first()
    return (row[0], row[1]) if row else None


def keys_of(session: Session, partner_id: uuid.UUID) -> Sequence[PartnerKey]:
    return session.scalars(select(PartnerKey).where(PartnerKey.partner_id == partner_id)
                           .order_by(PartnerKey.created_at)).all()


def get_key(session: Session, partner_id: uuid.UUID, key_id: uuid.UUID) -> PartnerKey | None:
    return session.scalars(select(PartnerKey).where(PartnerKey.id == key_id,
                                                    PartnerKey.partner_id == partner_id)).first()
