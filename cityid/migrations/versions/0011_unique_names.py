"""unique names compared alike on both backends: partners.name_key (NFKC, case-folded)

SQLite's lower() folds ASCII only, so "ÉCOLE Musée" and "école musée" were two partners there and
one on PostgreSQL. The key is computed in Python (cityid.db.name_key) and unique.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 21:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityid.db import name_key

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('partners', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=480), nullable=True))
    bind = op.get_bind()
    partners = sa.table('partners', sa.column('id', sa.Uuid()), sa.column('name', sa.String()),
                        sa.column('name_key', sa.String()), sa.column('created_at', sa.DateTime()))
    seen: set[str] = set()
    rows = bind.execute(sa.select(partners.c.id, partners.c.name)
                        .order_by(partners.c.created_at, partners.c.id)).all()
    for partner_id, name in rows:
        key = name_key(name)
        # Names that were distinct only under SQLite's ASCII lower() keep working: the later
        # one's key is made unique by its id, so the upgrade never fails on existing data.
        if key in seen:
            key = f"{key} #{partner_id}"
        seen.add(key)
        bind.execute(partners.update().where(partners.c.id == partner_id)
                     .values(name_key=key))
    if bind.dialect.name == 'postgresql':
        op.alter_column('partners', 'name_key', nullable=False)
    op.create_index('uq_partners_name_key', 'partners', ['name_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_partners_name_key', table_name='partners')
    with op.batch_alter_table('partners') as batch_op:
        batch_op.drop_column('name_key')
