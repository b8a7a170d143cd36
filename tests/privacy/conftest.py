"""Fixtures of the privacy tests. Database backups: a real copy of the live database, restored
where a runtime can open it with the live keyring, as someone holding an old backup would."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.runtime import Runtime
from cityid.db import make_engine
from entry.runtime import build_runtime

Backup = Callable[[], Runtime]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def take_backup(runtime: Runtime, tmp_path: Path) -> Iterator[Backup]:
    """``take_backup()`` copies the live database now (SQLite: the online backup API;
    PostgreSQL: pg_dump restored with psql into a new database) and returns a runtime on the
    copy that uses the live keyring."""
    made: list[Runtime] = []
    databases: list[str] = []
    live_url = runtime.settings.effective_database_url
    admin_url = make_url(live_url).set(database="postgres").render_as_string(
        hide_password=False)

    def take() -> Runtime:
        if make_url(live_url).get_backend_name() == "sqlite":
            copy = tmp_path / f"backup-{len(made)}.db"
            source = sqlite3.connect(str(make_url(live_url).database))
            target = sqlite3.connect(str(copy))
            source.backup(target)
            source.close()
            target.close()
            url = f"sqlite:///{copy}"
        else:
            assert shutil.which("pg_dump") and shutil.which("psql")
            name = f"cityid_backup_{uuid.uuid4().hex[:12]}"
            admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            databases.append(name)
            url = make_url(live_url).set(database=name).render_as_string(hide_password=False)
            dump = subprocess.run(["pg_dump", "--no-owner", _libpq_url(live_url)],
                                  check=True, capture_output=True).stdout
            subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", _libpq_url(url)],
                           input=dump, check=True, capture_output=True)
        backup = build_runtime(runtime.settings.model_copy(update={"database_url": url}),
                               clock=runtime.clock)
        made.append(backup)
        return backup

    yield take
    for backup in made:
        backup.engine.dispose()
    if databases:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
