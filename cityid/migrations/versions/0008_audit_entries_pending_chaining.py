"""audit entries pending chaining: requests append to an unlocked table, one chainer links them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 03:41:22.836535
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=True),
    sa.Column('purpose', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_pending'))
    )
    with op.batch_alter_table('audit_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_pending_subject'), ['subject'], unique=False)
    _no_updates()


def _no_updates() -> None:
    """A waiting entry is never edited. The chainer deletes the entries it has moved into the
    chain, in the same transaction, so deletes stay allowed."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION cityid_audit_pending_no_update() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_pending entries are never edited'; END $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
            FOR EACH ROW EXECUTE FUNCTION cityid_audit_pending_no_update()
        """)
    else:
        op.execute("""
            CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
            BEGIN SELECT RAISE(ABORT, 'audit_pending entries are never edited'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_pending_no_update ON audit_pending")
        op.execute("DROP FUNCTION IF EXISTS cityid_audit_pending_no_update()")
    with op.batch_alter_table('audit_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_pending_subject'))

    op.drop_table('audit_pending')
