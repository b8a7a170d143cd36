from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Boolean, ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.columns import EnumString
from cityid.db import Base, UTCDateTime, new_id

# The roles live in the kernel so that every layer may name one; imported here for staff's own
# importers.
from cityid.roles import PARTNER_ROLES, Role
from privacy.sealed import SealedFields

__all__ = ["PARTNER_ROLES", "Role", "StaffAccount", "StaffToken"]


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(EnumString(Role, 16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set for a partner's own accounts (partner roles only); the account goes with its partner.
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id", ondelete="CASCADE"), nullable=True, index=True)
    # Set by an admin's reset: the next sign-in is refused until the holder picks their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffToken(Base):
    """A signed-in session. Only the SHA-256 of the opaque token is stored."""

    __tablename__ = "staff_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaffSecondFactor(Base):
    """A staff member's TOTP second factor. The shared secret is sealed under the account's own
    data key (privacy/vault.py), so it is no more readable in a copy of the database than a
    resident's name; ``confirmed_at`` stays empty until a first code proves the enrolment."""

    __sealed__: ClassVar[SealedFields] = SealedFields({"totp_secret": "text"}, owner="staff_id",
                                                 row="staff_id")

    __tablename__ = "staff_second_factors"

    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), primary_key=True)
    totp_secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The last 30-second time step a code was accepted for: a code of that step or an earlier
    # one is a replay, even within the window the clock drift allowance would accept.
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class StaffRecoveryCode(Base):
    """A single-use recovery code, stored as an argon2id hash like a password."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KeyCeremony(Base):
    """Two admins' agreement to let a key out: one starts it, another approves it within
    minutes, and the starter uses it once (staff/ceremony.py)."""

    __tablename__ = "key_ceremonies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    # What the key goes to: a partner's id for a verifier-key export, none for the keyring.
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    started_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("staff_accounts.id", ondelete="SET NULL"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
