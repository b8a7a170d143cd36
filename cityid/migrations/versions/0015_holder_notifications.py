"""holder self-service: the notifications outbox, notification choices, once-per-card notices,
one-time codes and holder sessions

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _resident(table: str) -> list[sa.SchemaItem]:
    return [sa.Column("resident_id", sa.Uuid(), nullable=False),
            sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE",
                                    name=f"fk_{table}_resident_id_residents"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}") if table != "notification_choices"
            else sa.PrimaryKeyConstraint("resident_id", "kind", name=f"pk_{table}")]


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_resident("notification_outbox"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=True),
        sa.Column("recipient_enc", sa.LargeBinary(), nullable=True),
        sa.Column("params_enc", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(32), nullable=True),
        sa.Column("created_at", cityid.db.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", cityid.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", cityid.db.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_notification_outbox_resident_id", "notification_outbox", ["resident_id"])
    op.create_index("ix_notification_outbox_next_attempt_at", "notification_outbox",
                    ["next_attempt_at"])
    op.create_index("ix_notification_outbox_expires_at", "notification_outbox", ["expires_at"])
    op.create_table(
        "notification_choices",
        *_resident("notification_choices"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", cityid.db.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "card_notices",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("queued_at", cityid.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], ondelete="CASCADE",
                                name="fk_card_notices_card_id_cards"),
        sa.PrimaryKeyConstraint("card_id", "kind", name="pk_card_notices"),
    )
    op.create_table(
        "holder_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        *_resident("holder_codes"),
        sa.Column("card_number_index", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("new_contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", cityid.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", cityid.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", cityid.db.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_holder_codes_resident_id", "holder_codes", ["resident_id"])
    op.create_index("ix_holder_codes_card_number_index", "holder_codes", ["card_number_index"])
    op.create_index("ix_holder_codes_expires_at", "holder_codes", ["expires_at"])
    op.create_table(
        "holder_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_holder_sessions_token_hash"),
        *_resident("holder_sessions"),
        sa.Column("card_number_index", sa.String(64), nullable=False),
        sa.Column("created_at", cityid.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", cityid.db.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_holder_sessions_resident_id", "holder_sessions", ["resident_id"])
    op.create_index("ix_holder_sessions_expires_at", "holder_sessions", ["expires_at"])


def downgrade() -> None:
    for table in ("holder_sessions", "holder_codes", "card_notices", "notification_choices",
                  "notification_outbox"):
        op.drop_table(table)
