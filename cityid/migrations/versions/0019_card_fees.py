"""Fees and waivers: each card's fee as computed from the schedule and as the desk recorded it.
Amounts and codes only.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cityid.db import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_fees",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("age_band", sa.String(32), nullable=False),
        sa.Column("amount_due_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("schedule", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("amount_paid_cents", sa.Integer(), nullable=True),
        sa.Column("waiver_code", sa.String(32), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], ondelete="CASCADE",
                                name=op.f("fk_card_fees_card_id_cards")),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_card_fees")),
    )
    op.create_index(op.f("ix_card_fees_kind"), "card_fees", ["kind"])
    op.create_index(op.f("ix_card_fees_status"), "card_fees", ["status"])


def downgrade() -> None:
    op.drop_table("card_fees")
