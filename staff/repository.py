from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityid.roles import Role
from staff.models import StaffAccount, StaffToken


def get_by_username(session: Session, username: str) -> StaffAccount | None:
    return session.scalars(select(StaffAccount).where(StaffAccount.username == username)).first()


def get(session: Session, staff_id: uuid.UUID) -> StaffAccount | None:
    return session.get(StaffAccount, staff_id)


def lock_active_admins(session: Session) -> Sequence[StaffAccount]:
    """The active admin accounts, locked: two admins demoting each other at once queue here,
    so the count the second one sees includes the first one's change."""
    return session.scalars(select(StaffAccount).where(StaffAccount.role == Role.ADMIN,
                                                      StaffAccount.active.is_(True))
                           .order_by(StaffAccount.id).with_for_update()).all()


def add(session: Session, account: StaffAccount) -> None:
    session.add(account)
    session.flush()


def list_accounts(session: Session) -> Sequence[StaffAccount]:
    return session.scalars(select(StaffAccount).order_by(StaffAccount.username)).all()


def add_token(session: Session, token: StaffToken) -> None:
    session.add(token)
    session.flush()


def get_token(session: Session, token_hash: str) -> tuple[StaffToken, StaffAccount] | None:
    row = session.execute(
        select(StaffToken, StaffAccount)
        .join(StaffAccount, StaffAccount.id == StaffToken.staff_id)
        .where(StaffToken.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None


def revoke_token(session: Session, token_hash: str, at: datetime) -> None:
    session.execute(update(StaffToken).where(StaffToken.token_hash == token_hash,
                                             StaffToken.revoked_at.is_(None))
                    .values(revoked_at=at))


def revoke_all_tokens(session: Session, staff_id: uuid.UUID, at: datetime) -> None:
    session.execute(update(StaffToken).where(StaffToken.staff_id == staff_id,
                                             StaffToken.revoked_at.is_(None))
                    .values(revoked_at=at))
