"""partner accounts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 02:23:49.640873
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite the batch rebuild of staff_accounts deletes staff_tokens through their ON DELETE
    # CASCADE: open sessions end and staff sign in again after this upgrade.
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_accounts_partner_id'), ['partner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_staff_accounts_partner_id_partners'), 'partners', ['partner_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_accounts_partner_id_partners'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_accounts_partner_id'))
        batch_op.drop_column('partner_id')
