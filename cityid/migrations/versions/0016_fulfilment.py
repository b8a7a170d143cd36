"""Card fulfilment: print batches per site, and each card's site, batch and step times.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cityid.db import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_code", sa.String(32), nullable=False),
        sa.Column("card_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("printed_by", sa.String(64), nullable=True),
        sa.Column("printed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_batches")),
    )
    op.create_index(op.f("ix_print_batches_site_code"), "print_batches", ["site_code"])
    op.create_table(
        "card_fulfilments",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("site_code", sa.String(32), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("printed_at", UTCDateTime(), nullable=True),
        sa.Column("mailed_at", UTCDateTime(), nullable=True),
        sa.Column("returned_at", UTCDateTime(), nullable=True),
        sa.Column("ready_at", UTCDateTime(), nullable=True),
        sa.Column("picked_up_at", UTCDateTime(), nullable=True),
        sa.Column("not_received_at", UTCDateTime(), nullable=True),
        sa.Column("identity_check", sa.String(32), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], ondelete="CASCADE",
                                name=op.f("fk_card_fulfilments_card_id_cards")),
        sa.ForeignKeyConstraint(["batch_id"], ["print_batches.id"], ondelete="SET NULL",
                                name=op.f("fk_card_fulfilments_batch_id_print_batches")),
        sa.PrimaryKeyConstraint("card_id", name=op.f("pk_card_fulfilments")),
    )
    op.create_index(op.f("ix_card_fulfilments_site_code"), "card_fulfilments", ["site_code"])
    op.create_index(op.f("ix_card_fulfilments_batch_id"), "card_fulfilments", ["batch_id"])


def downgrade() -> None:
    op.drop_table("card_fulfilments")
    op.drop_table("print_batches")
