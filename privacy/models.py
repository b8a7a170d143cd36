from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime


class DataKey(Base):
    """A resident's data key (DEK), wrapped by a KEK version. Deleting the row shreds the data."""

    __tablename__ = "data_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kek_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log. Never a personal value."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The waiting row this entry was moved from, and the MAC its writer gave it: the database
    # lets a waiting row go only once its copy is here (see ``privacy.audit``). Not hashed, so
    # entries chained before they existed keep their hashes; ``cityid audit verify`` checks MACs.
    pending_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), index=True, unique=True, nullable=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PendingAuditEntry(Base):
    """An entry written in the transaction of the action it records, waiting to be linked into
    the chain. Appending here takes no lock, so audited requests don't queue behind each other;
    the chainer (``privacy.audit.Chainer``) moves entries into ``audit_log`` in id order, a
    fraction of a second later. Rows are never updated; the chainer deletes the ones it moved,
    and the database refuses to delete one that is not in ``audit_log`` yet. Ids are never
    reused (AUTOINCREMENT on SQLite), so a chained entry's ``pending_id`` names one row only."""

    __tablename__ = "audit_pending"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # HMAC of the content under a key outside the database (``privacy.audit.entry_mac``): an
    # entry forged or edited in the database does not carry a valid one.
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditHead(Base):
    """The single row naming the chain's last entry. The chainer locks it, which keeps one
    chainer at a time, and it lets a verifier notice entries cut from the end of the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class PublishedAuditHead(Base):
    """A chain head as it was signed and published (``privacy.anchor``). Append-only: each row
    is a promise that entry ``seq`` had ``hash``, checked by ``cityid audit verify``."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    document: Mapped[bytes] = mapped_column(LargeBinary)
