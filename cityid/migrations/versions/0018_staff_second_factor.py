"""Staff second factors (TOTP, sealed), recovery codes, forced password change.

Revision ID: 0018
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cityid.db import UTCDateTime

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "staff_second_factors",
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey("staff_accounts.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey("staff_accounts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_staff_recovery_codes_staff_id", "staff_recovery_codes", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_recovery_codes_staff_id", "staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_second_factors")
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_column("must_change_password")
