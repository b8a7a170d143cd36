"""Staff second factors (TOTP, sealed), recovery codes, forced password change, key ceremonies.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from cityid.db import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _to_staff(column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["staff_accounts.id"], ondelete=ondelete,
                                   name=op.f(f"fk_{table}_{column}_staff_accounts"))


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_table(
        "staff_second_factors",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        _to_staff("staff_id", "staff_second_factors", "CASCADE"),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_second_factors")),
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(255), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        _to_staff("staff_id", "staff_recovery_codes", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
    )
    op.create_index(op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes",
                    ["staff_id"])
    op.create_table(
        "key_ceremonies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        _to_staff("started_by", "key_ceremonies", "SET NULL"),
        _to_staff("approved_by", "key_ceremonies", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_ceremonies")),
    )


def downgrade() -> None:
    op.drop_table("key_ceremonies")
    op.drop_index(op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_second_factors")
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_column("must_change_password")
