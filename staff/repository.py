from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cityid.roles import Role
from staff.models import (
    KeyCeremony,
    StaffAccount,
    StaffRecoveryCode,
    StaffSecondFactor,
    StaffToken,
)


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


def get_second_factor(session: Session, staff_id: uuid.UUID) -> StaffSecondFactor | None:
    return session.get(StaffSecondFactor, staff_id)


def lock_second_factor(session: Session, staff_id: uuid.UUID) -> StaffSecondFactor | None:
    """Locked: two sign-ins with the same code queue here, so only one can use its step."""
    return session.scalars(select(StaffSecondFactor)
                           .where(StaffSecondFactor.staff_id == staff_id)
                           .with_for_update().execution_options(populate_existing=True)).first()


def add_second_factor(session: Session, factor: StaffSecondFactor) -> None:
    session.add(factor)
    session.flush()


def delete_second_factor(session: Session, staff_id: uuid.UUID) -> None:
    session.execute(delete(StaffSecondFactor).where(StaffSecondFactor.staff_id == staff_id))


def add_recovery_code(session: Session, code: StaffRecoveryCode) -> None:
    session.add(code)
    session.flush()


def delete_recovery_codes(session: Session, staff_id: uuid.UUID) -> None:
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id))


def lock_unused_recovery_codes(session: Session,
                               staff_id: uuid.UUID) -> Sequence[StaffRecoveryCode]:
    return session.scalars(select(StaffRecoveryCode)
                           .where(StaffRecoveryCode.staff_id == staff_id,
                                  StaffRecoveryCode.used_at.is_(None))
                           .order_by(StaffRecoveryCode.id).with_for_update()
                           .execution_options(populate_existing=True)).all()


def count_unused_recovery_codes(session: Session, staff_id: uuid.UUID) -> int:
    return int(session.scalar(select(func.count()).select_from(StaffRecoveryCode)
                              .where(StaffRecoveryCode.staff_id == staff_id,
                                     StaffRecoveryCode.used_at.is_(None))) or 0)


def live_tokens(session: Session, staff_id: uuid.UUID, now: datetime) -> Sequence[StaffToken]:
    return session.scalars(select(StaffToken)
                           .where(StaffToken.staff_id == staff_id,
                                  StaffToken.revoked_at.is_(None), StaffToken.expires_at > now)
                           .order_by(StaffToken.created_at.desc())).all()


def add_ceremony(session: Session, ceremony: KeyCeremony) -> None:
    session.add(ceremony)
    session.flush()


def lock_ceremony(session: Session, ceremony_id: uuid.UUID) -> KeyCeremony | None:
    """Locked: two uses of one approval at once queue here, and the second finds it used."""
    return session.scalars(select(KeyCeremony).where(KeyCeremony.id == ceremony_id)
                           .with_for_update().execution_options(populate_existing=True)).first()
