"""Appointment reminders through the outbox: a message is owned by a resident or by an
appointment (with the booking's language), and an appointment records when its reminder was
queued.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cityid.db import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_outbox") as batch:
        batch.alter_column("resident_id", existing_type=sa.Uuid(), nullable=True)
        batch.add_column(sa.Column("appointment_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.create_foreign_key("fk_notification_outbox_appointment_id_appointments",
                                 "appointments", ["appointment_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_notification_outbox_appointment_id", ["appointment_id"])
        batch.create_check_constraint(op.f("ck_notification_outbox_one_owner"),
                                      "(resident_id IS NULL) <> (appointment_id IS NULL)")
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("reminder_queued_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("reminder_queued_at")
    op.execute("DELETE FROM notification_outbox WHERE resident_id IS NULL")
    with op.batch_alter_table("notification_outbox") as batch:
        batch.drop_constraint(op.f("ck_notification_outbox_one_owner"), type_="check")
        batch.drop_index("ix_notification_outbox_appointment_id")
        batch.drop_constraint("fk_notification_outbox_appointment_id_appointments",
                              type_="foreignkey")
        batch.drop_column("language")
        batch.drop_column("appointment_id")
        batch.alter_column("resident_id", existing_type=sa.Uuid(), nullable=False)
