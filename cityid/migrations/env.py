"""Alembic environment: the same migrations build SQLite and PostgreSQL databases.

Alembic loads this script by its path (it is no module of the cityid package), so it is an
entry point like the ``cityid`` command, and like it may reach the entry layer's model registry,
which imports every package's models for the metadata below."""

from __future__ import annotations

from alembic import context
from cityid.db import make_engine
from cityid.settings import get_settings
from entry.models import import_all_models

config = context.config
target_metadata = import_all_models()


def _url() -> str:
    return config.attributes.get("url") or get_settings().effective_database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,  # type: ignore[arg-type]
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
