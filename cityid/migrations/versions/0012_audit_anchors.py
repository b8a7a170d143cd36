"""audit anchors: published chain heads, MACs on entries, waiting entries leave only into the chain

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:50:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LEAVE_ONLY_INTO_CHAIN = "audit_pending entries leave only into the chain"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN on both backends: rebuilding audit_log would drop its append-only triggers.
    op.add_column('audit_log', sa.Column('pending_id', ID, nullable=True))
    op.add_column('audit_log', sa.Column('mac', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_audit_log_pending_id'), 'audit_log', ['pending_id'], unique=True)
    if postgres:
        op.add_column('audit_pending', sa.Column('mac', sa.String(length=64), nullable=True))
    else:
        # AUTOINCREMENT, so SQLite never hands out an id again once its row was chained and
        # deleted: otherwise a new waiting row could pass as already moved.
        op.execute("DROP TRIGGER IF EXISTS audit_pending_no_update")
        with op.batch_alter_table('audit_pending', recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}) as batch_op:
            batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        op.execute("""
            CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
            BEGIN SELECT RAISE(ABORT, 'audit_pending entries are never edited'); END
        """)
    op.create_table('audit_heads',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('seq', ID, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('published_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_heads'))
    )
    op.create_index(op.f('ix_audit_heads_seq'), 'audit_heads', ['seq'], unique=False)
    if postgres:
        _postgres_guards()
    else:
        _sqlite_guards()


def _postgres_guards() -> None:
    op.execute(f"""
        CREATE FUNCTION cityid_audit_pending_only_moved() RETURNS trigger AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM audit_log
                           WHERE pending_id = OLD.id AND mac IS NOT DISTINCT FROM OLD.mac) THEN
                RAISE EXCEPTION '{LEAVE_ONLY_INTO_CHAIN}';
            END IF;
            RETURN OLD;
        END $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_pending_only_moved BEFORE DELETE ON audit_pending
        FOR EACH ROW EXECUTE FUNCTION cityid_audit_pending_only_moved()
    """)
    op.execute("""
        CREATE FUNCTION cityid_audit_heads_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'audit_heads is append-only'; END $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
        FOR EACH ROW EXECUTE FUNCTION cityid_audit_heads_append_only()
    """)
    # TRUNCATE fires no row triggers; refuse it on the audit tables while they hold anything.
    op.execute("""
        CREATE FUNCTION cityid_audit_no_truncate() RETURNS trigger AS $$
        DECLARE held boolean;
        BEGIN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_TABLE_NAME) INTO held;
            IF held THEN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
    """)
    for table in ('audit_pending', 'audit_log', 'audit_heads'):
        op.execute(f"""
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION cityid_audit_no_truncate()
        """)


def _sqlite_guards() -> None:
    op.execute(f"""
        CREATE TRIGGER audit_pending_only_moved BEFORE DELETE ON audit_pending
        WHEN NOT EXISTS (SELECT 1 FROM audit_log WHERE pending_id = OLD.id AND mac IS OLD.mac)
        BEGIN SELECT RAISE(ABORT, '{LEAVE_ONLY_INTO_CHAIN}'); END
    """)
    for event in ('UPDATE', 'DELETE'):
        op.execute(f"""
            CREATE TRIGGER audit_heads_no_{event.lower()} BEFORE {event} ON audit_heads
            BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ('audit_pending', 'audit_log', 'audit_heads'):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cityid_audit_no_truncate()")
        op.execute("DROP TRIGGER IF EXISTS audit_heads_append_only ON audit_heads")
        op.execute("DROP FUNCTION IF EXISTS cityid_audit_heads_append_only()")
        op.execute("DROP TRIGGER IF EXISTS audit_pending_only_moved ON audit_pending")
        op.execute("DROP FUNCTION IF EXISTS cityid_audit_pending_only_moved()")
        op.drop_column('audit_pending', 'mac')
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_pending_only_moved")
        op.execute("DROP TRIGGER IF EXISTS audit_pending_no_update")
        with op.batch_alter_table('audit_pending', recreate='always') as batch_op:
            batch_op.drop_column('mac')
        op.execute("""
            CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
            BEGIN SELECT RAISE(ABORT, 'audit_pending entries are never edited'); END
        """)
    op.drop_index(op.f('ix_audit_heads_seq'), table_name='audit_heads')
    op.drop_table('audit_heads')
    op.drop_index(op.f('ix_audit_log_pending_id'), table_name='audit_log')
    with op.batch_alter_table('audit_log', recreate='never') as batch_op:
        batch_op.drop_column('mac')
        batch_op.drop_column('pending_id')
