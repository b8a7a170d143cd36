"""What every command shares: its runtime, the check that it runs inside an installation, and
one-line refusals (``fail``, defined with the main group)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url

from api.runtime import Runtime
from cityid.settings import Settings, get_settings

# The module, not its function: tests build the runtime on their own clock by replacing it.
from entry import runtime as composition
from entry.cli import fail

__all__ = ["command_runtime", "fail", "require_installation"]


def require_installation(settings: Settings) -> None:
    """Only ``serve``, ``db upgrade`` and ``seed`` make a database; any other command run where
    there is none says so, instead of leaving an empty ./var/cityid.db behind."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if not Path(url.database).is_file():
        fail(f"no cityid database at {url.database}: this folder is not an installation "
             "(make one with `cityid db upgrade`, or set CITYID_DATA_DIR / "
             "CITYID_DATABASE_URL)")


def command_runtime(settings: Settings | None = None, *, create: bool = False) -> Runtime:
    """The command's runtime. When the command ends, whatever it audited is linked into the
    chain, so nothing a command did is left waiting for a server's chainer. Without ``create``
    the database must already exist."""
    settings = settings or get_settings()
    if not create:
        require_installation(settings)
    runtime = composition.build_runtime(settings)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(runtime.audit_chainer.stop)
    return runtime
