"""cards: issued cards and the signed status list

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:29:56.141790
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('status_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('valid_until', cityid.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists'))
    )
    op.create_table('cards',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=True),
    sa.Column('card_number_index', sa.String(length=64), nullable=False),
    sa.Column('card_number_enc', sa.LargeBinary(), nullable=False),
    sa.Column('issue_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('status_reason', sa.String(length=24), nullable=True),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('issued_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('credential_enc', sa.LargeBinary(), nullable=False),
    sa.Column('fulfilment', sa.String(length=20), nullable=False),
    sa.Column('printed_at', cityid.db.UTCDateTime(), nullable=True),
    sa.Column('replaces_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_cards_application_id_applications'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_cards_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('card_number_index', 'issue_number', name=op.f('uq_cards_card_number_index_issue_number')),
    sa.UniqueConstraint('status_index', name=op.f('uq_cards_status_index'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_card_number_index'), ['card_number_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_fulfilment'), ['fulfilment'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_kid'), ['kid'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cards_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_status'))
        batch_op.drop_index(batch_op.f('ix_cards_resident_id'))
        batch_op.drop_index(batch_op.f('ix_cards_kid'))
        batch_op.drop_index(batch_op.f('ix_cards_fulfilment'))
        batch_op.drop_index(batch_op.f('ix_cards_expires_on'))
        batch_op.drop_index(batch_op.f('ix_cards_card_number_index'))
        batch_op.drop_index(batch_op.f('ix_cards_application_id'))

    op.drop_table('cards')
    op.drop_table('status_lists')
