from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cityid.db import Base, UTCDateTime, new_id


class Resident(Base):
    """A person known to the program. Every personal field is ciphertext under the resident's
    own data key (see privacy.vault); the ``_enc`` suffix says so."""

    __tablename__ = "residents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    first_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    middle_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    last_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
