"""Enrollment centres (sites), their staff, closures and slots; public appointments; walk-ins.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TIME = sa.DateTime()


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("desks", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("walk_in_percent", sa.Integer(), nullable=False),
        sa.Column("accessibility", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("name_key", name="uq_sites_name_key"),
    )
    op.create_table(
        "site_closures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_site_closures"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE",
                                name="fk_site_closures_site_id_sites"),
        sa.UniqueConstraint("site_id", "closed_on", name="uq_site_closures_site_id_closed_on"),
    )
    op.create_table(
        "staff_sites",
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", "site_id", name="pk_staff_sites"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], ondelete="CASCADE",
                                name="fk_staff_sites_staff_id_staff_accounts"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE",
                                name="fk_staff_sites_site_id_sites"),
    )
    op.create_index("ix_staff_sites_site_id", "staff_sites", ["site_id"])
    op.create_table(
        "appointment_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("desk", sa.Integer(), nullable=False),
        sa.Column("released_at", TIME, nullable=False),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_appointment_slots"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE",
                                name="fk_appointment_slots_site_id_sites"),
        sa.UniqueConstraint("site_id", "starts_at", "desk",
                            name="uq_appointment_slots_site_id_starts_at_desk"),
    )
    op.create_index("ix_appointment_slots_held_on", "appointment_slots", ["held_on"])
    op.create_index("ix_appointment_slots_released", "appointment_slots",
                    ["site_id", "released_at"])
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("code_index", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("interpreter", sa.Boolean(), nullable=False),
        sa.Column("interpreter_language", sa.String(8), nullable=True),
        sa.Column("first_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_hash", sa.String(64), nullable=True),
        sa.Column("booked_at", TIME, nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.Column("checked_in_at", TIME, nullable=True),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("purge_on", sa.Date(), nullable=False),
        sa.Column("purged_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE",
                                name="fk_appointments_site_id_sites"),
        sa.ForeignKeyConstraint(["slot_id"], ["appointment_slots.id"], ondelete="SET NULL",
                                name="fk_appointments_slot_id_appointment_slots"),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"], ondelete="SET NULL",
                                name="fk_appointments_application_id_applications"),
        # The one rule a release rush must not break: a slot is held by one appointment.
        sa.UniqueConstraint("slot_id", name="uq_appointments_slot_id"),
        sa.UniqueConstraint("code_index", name="uq_appointments_code_index"),
    )
    for column in ("site_id", "starts_at", "held_on", "status", "contact_hash", "purge_on"):
        op.create_index(f"ix_appointments_{column}", "appointments", [column])
    op.create_table(
        "walk_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("interpreter", sa.Boolean(), nullable=False),
        sa.Column("interpreter_language", sa.String(8), nullable=True),
        sa.Column("queued_at", TIME, nullable=False),
        sa.Column("served_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_walk_ins"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE",
                                name="fk_walk_ins_site_id_sites"),
        sa.UniqueConstraint("site_id", "held_on", "number",
                            name="uq_walk_ins_site_id_held_on_number"),
    )
    op.create_index("ix_walk_ins_site_id", "walk_ins", ["site_id"])


def downgrade() -> None:
    op.drop_table("walk_ins")
    op.drop_table("appointments")
    op.drop_table("appointment_slots")
    op.drop_table("staff_sites")
    op.drop_table("site_closures")
    op.drop_table("sites")
