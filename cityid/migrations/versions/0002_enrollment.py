"""enrollment: applications, documents, photos, duplicate checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:21:27.279577
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityid.db  # noqa: F401 - column types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('applications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('reference_index', sa.String(length=64), nullable=False),
    sa.Column('reference_enc', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.Column('caretaker_enc', sa.LargeBinary(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', cityid.db.UTCDateTime(), nullable=True),
    sa.Column('decision_reason', sa.String(length=48), nullable=True),
    sa.Column('rulebook_override', sa.Boolean(), nullable=False),
    sa.Column('rulebook_fingerprint', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_applications_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('reference_index', name=op.f('uq_applications_reference_index'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_status'), ['status'], unique=False)

    op.create_table('resident_photos',
    sa.Column('resident_id', sa.Uuid(), nullable=False),
    sa.Column('photo_enc', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', cityid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_photos_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_resident_photos'))
    )
    op.create_table('application_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('shows_photo', sa.Boolean(), nullable=False),
    sa.Column('shows_dob', sa.Boolean(), nullable=False),
    sa.Column('checked_by', sa.String(length=64), nullable=False),
    sa.Column('checked_at', cityid.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_application_documents_application_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_documents'))
    )
    with op.batch_alter_table('application_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_documents_application_id'), ['application_id'], unique=False)

    op.create_table('duplicate_flags',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('matched_application_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('resolution', sa.String(length=24), nullable=True),
    sa.Column('created_at', cityid.db.UTCDateTime(), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', cityid.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_duplicate_flags_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['matched_application_id'], ['applications.id'], name=op.f('fk_duplicate_flags_matched_application_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_flags')),
    sa.UniqueConstraint('application_id', 'matched_application_id', name=op.f('uq_duplicate_flags_application_id_matched_application_id'))
    )
    with op.batch_alter_table('duplicate_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_flags_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_flags_matched_application_id'), ['matched_application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_flags_status'), ['status'], unique=False)

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('care_of_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('phone_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('email_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('designations_enc', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('person_index', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_residents_person_index'), ['person_index'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_person_index'))
        batch_op.drop_column('person_index')
        batch_op.drop_column('designations_enc')
        batch_op.drop_column('email_enc')
        batch_op.drop_column('phone_enc')
        batch_op.drop_column('care_of_enc')

    with op.batch_alter_table('duplicate_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_flags_status'))
        batch_op.drop_index(batch_op.f('ix_duplicate_flags_matched_application_id'))
        batch_op.drop_index(batch_op.f('ix_duplicate_flags_application_id'))

    op.drop_table('duplicate_flags')
    with op.batch_alter_table('application_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_documents_application_id'))

    op.drop_table('application_documents')
    op.drop_table('resident_photos')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_status'))
        batch_op.drop_index(batch_op.f('ix_applications_resident_id'))

    op.drop_table('applications')
