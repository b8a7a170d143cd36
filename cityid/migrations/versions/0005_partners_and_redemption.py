"""partners and redemption

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:45:16.504334
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('partners',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=True),
    sa.Column('created_at', cityid.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name'))
    )
    op.create_table('benefits',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('limit_count', sa.Integer(), nullable=False),
    sa.Column('limit_period', sa.String(length=16), nullable=False),
    sa.Column('limit_days', sa.Integer(), nullable=True),
    sa.Column('membership_days', sa.Integer(), nullable=True),
    sa.Column('active_from', sa.Date(), nullable=False),
    sa.Column('active_until', sa.Date(), nullable=False),
    sa.Column('created_at', cityid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_benefits_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefits'))
    )
    with op.batch_alter_table('benefits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefits_partner_id'), ['partner_id'], unique=False)

    op.create_table('partner_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=True),
    sa.Column('created_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', cityid.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', cityid.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_keys_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_partner_keys_key_hash')),
    sa.UniqueConstraint('prefix', name=op.f('uq_partner_keys_prefix'))
    )
    with op.batch_alter_table('partner_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_keys_partner_id'), ['partner_id'], unique=False)

    op.create_table('benefit_holds',
    sa.Column('benefit_id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['benefit_id'], ['benefits.id'], name=op.f('fk_benefit_holds_benefit_id_benefits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_benefit_holds_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('benefit_id', 'resident_id', name=op.f('pk_benefit_holds'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('benefit_id', sa.Uuid(), nullable=False),
    sa.Column('partner_id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('card_id', sa.Uuid(), nullable=True),
    sa.Column('period_key', sa.String(length=16), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('receipt_number', sa.String(length=24), nullable=False),
    sa.Column('redeemed_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('voided_at', cityid.db.UTCDateTime(), nullable=True),
    sa.Column('void_reason', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['benefit_id'], ['benefits.id'], name=op.f('fk_redemptions_benefit_id_benefits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_redemptions_card_id_cards'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_redemptions_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_redemptions_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('partner_id', 'idempotency_key', name=op.f('uq_redemptions_partner_id_idempotency_key')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_redemptions_receipt_number'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_benefit_id'), ['benefit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_redeemed_at'), ['redeemed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index('uq_redemptions_benefit_holder_period_slot', ['benefit_id', 'resident_id', 'period_key', 'slot'], unique=True, sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('uq_redemptions_benefit_holder_period_slot', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_redemptions_resident_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_redeemed_at'))
        batch_op.drop_index(batch_op.f('ix_redemptions_partner_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_benefit_id'))

    op.drop_table('redemptions')
    op.drop_table('benefit_holds')
    with op.batch_alter_table('partner_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_keys_partner_id'))

    op.drop_table('partner_keys')
    with op.batch_alter_table('benefits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefits_partner_id'))

    op.drop_table('benefits')
    op.drop_table('partners')
