"""Cards remember the verifier key that sealed their QR (none for a plain signed QR).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("verifier_kid", sa.String(64), nullable=True))
        batch.create_index("ix_cards_verifier_kid", ["verifier_kid"])


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_index("ix_cards_verifier_kid")
        batch.drop_column("verifier_kid")
