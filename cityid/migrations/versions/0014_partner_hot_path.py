"""The partner hot path (issue 14): key changes announced to every API process, and the
duplicate index on card numbers dropped.

- On PostgreSQL, triggers send ``NOTIFY cityid_partner_keys`` from the transaction that revokes
  a key, changes its expiry, hash or partner, deletes it, or changes or deletes a partner: the
  key caches of every process (``redemption.key_cache``) drop what they hold at that commit.
  ``last_used_at``, written once a minute per key, is left out so it does not empty them.
- ``ix_cards_card_number_index`` goes: the unique index on (card_number_index, issue_number)
  starts with the same column and answers the same lookups; at a million cards each is ~125 MB.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

CHANNEL = "cityid_partner_keys"


def upgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_index("ix_cards_card_number_index")
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite serves one process and verifies on the normal route: nothing to tell
    op.execute(f"""
        CREATE FUNCTION cityid_partner_keys_changed() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER partner_keys_changed
        AFTER UPDATE OF revoked_at, expires_at, key_hash, partner_id OR DELETE ON partner_keys
        FOR EACH STATEMENT EXECUTE FUNCTION cityid_partner_keys_changed()
    """)
    op.execute("""
        CREATE TRIGGER partners_changed AFTER UPDATE OR DELETE ON partners
        FOR EACH STATEMENT EXECUTE FUNCTION cityid_partner_keys_changed()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS partners_changed ON partners")
        op.execute("DROP TRIGGER IF EXISTS partner_keys_changed ON partner_keys")
        op.execute("DROP FUNCTION IF EXISTS cityid_partner_keys_changed()")
    with op.batch_alter_table("cards") as batch:
        batch.create_index("ix_cards_card_number_index", ["card_number_index"])
