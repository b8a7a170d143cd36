"""caller words: idempotency keys already in the ledger become keyed hashes

Idempotency keys are strings a partner chose and were stored as sent. From this revision the
ledger keeps HMAC-SHA256 of (partner, key) under the index key (redemption/ledger.py
idempotency_hash); rows written before are rehashed here, so a retry that spans the upgrade
still replays its receipt. Only this needs the keyring, and only when there are rows.

Audit entries written before this revision keep whatever purpose they were given (the chain
is append-only); `cityid privacy drill` names the column if one holds an immigration term.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDEMPTIONS = sa.table('redemptions', sa.column('id', sa.Uuid()),
                       sa.column('partner_id', sa.Uuid()),
                       sa.column('idempotency_key', sa.String(128)))


def _vault() -> object:
    vault = context.config.attributes.get('vault')
    if vault is not None:
        return vault
    from cityid.settings import get_settings
    from privacy.keyring import KeyProvider
    from privacy.key_providers import EnvKeyProvider, FileKeyProvider
    from privacy.vault import Vault

    settings = get_settings()
    provider: KeyProvider = (EnvKeyProvider(settings.keyring) if settings.key_provider == 'env'
                             else FileKeyProvider(settings.effective_keyring_path, create=False))
    return Vault(provider)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(REDEMPTIONS.c.id, REDEMPTIONS.c.partner_id,
                                  REDEMPTIONS.c.idempotency_key)).all()
    if not rows:
        return
    vault = _vault()
    for row_id, partner_id, key in rows:
        hashed = vault.keyed_hash('idempotency-key', f'{partner_id}|{key}')  # type: ignore[attr-defined]
        bind.execute(REDEMPTIONS.update().where(REDEMPTIONS.c.id == row_id)
                     .values(idempotency_key=hashed))


def downgrade() -> None:
    # The keys can't be recovered from their hashes, by design; the hashes still work as keys.
    pass
