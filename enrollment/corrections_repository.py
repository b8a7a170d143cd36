"""The SQL of corrections before the decision (enrollment.corrections)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.models import ApplicationDocument


def document_of(session: Session, application_id: uuid.UUID,
                document_id: uuid.UUID) -> ApplicationDocument | None:
    """A document record of this application only: an id from another one finds nothing."""
    return session.scalars(select(ApplicationDocument).where(
        ApplicationDocument.id == document_id,
        ApplicationDocument.application_id == application_id)).first()


def delete(session: Session, row: object) -> None:
    session.delete(row)
    session.flush()
