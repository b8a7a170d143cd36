"""Running the Alembic migrations from code (``cityid db upgrade``, ``cityid serve``, tests).

The migrations ship inside the package (``cityid/migrations``), so an installed cityid, not only
a source checkout, can build and upgrade its database; ``alembic.ini`` at the top of the source
tree points at the same folder for anyone running ``alembic`` by hand.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    if not (MIGRATIONS / "env.py").is_file():
        raise RuntimeError(f"the migrations are missing from {MIGRATIONS}; reinstall cityid")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
