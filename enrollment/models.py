from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityid.columns import EnumString
from cityid.db import Base, UTCDateTime, new_id
from enrollment.states import ApplicationStatus
from privacy.sealed import SealedFields


class Resident(Base):
    """A person known to the program. Every personal field is ciphertext under the resident's
    own data key (see privacy.vault); the ``_enc`` suffix says so."""

    __tablename__ = "residents"
    __sealed__: ClassVar[SealedFields] = SealedFields({
        "first_name": "text", "middle_name": "text", "last_name": "text",
        "date_of_birth": "date", "address": "json", "care_of": "json", "phone": "text",
        "email": "text", "designations": "json"}, owner="id")

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    first_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    middle_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    last_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    care_of_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    designations_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # HMAC of the normalised name and date of birth: finds duplicates without decrypting.
    person_index: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResidentPhoto(Base):
    """The card photo, re-encoded and stripped of metadata, then encrypted."""

    __tablename__ = "resident_photos"
    # One photo per resident: the row is named by its resident.
    __sealed__: ClassVar[SealedFields] = SealedFields({"photo": "bytes"}, row="resident_id")

    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    photo_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Application(Base):
    __tablename__ = "applications"
    __sealed__: ClassVar[SealedFields] = SealedFields({"reference": "text",
                                                       "caretaker": "json"})

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    resident_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    # The reference is a lookup secret: kept as a blind index, and encrypted for display.
    reference_index: Mapped[str] = mapped_column(String(64), unique=True)
    reference_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[ApplicationStatus] = mapped_column(EnumString(ApplicationStatus, 20),
                                                      index=True)
    delivery: Mapped[str] = mapped_column(String(10))
    caretaker_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(48), nullable=True)
    rulebook_override: Mapped[bool] = mapped_column(Boolean, default=False)
    rulebook_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ApplicationDocument(Base):
    """All that is kept of a document that was inspected and handed back: never its kind,
    number, issuing country or an image."""

    __tablename__ = "application_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    shows_photo: Mapped[bool] = mapped_column(Boolean)
    shows_dob: Mapped[bool] = mapped_column(Boolean)
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuplicateFlag(Base):
    """A possible duplicate, waiting for a supervisor. Approval is blocked while it is open."""

    __tablename__ = "duplicate_flags"
    __table_args__ = (UniqueConstraint("application_id", "matched_application_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    application_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    matched_application_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    resolution: Mapped[str | None] = mapped_column(String(24), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
