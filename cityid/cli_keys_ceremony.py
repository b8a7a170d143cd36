"""`cityid keys export`: the whole keyring, written out only under a key ceremony that two
admins agreed to (staff/ceremony.py), for moving the keys to another installation or into a
token. Attached to the `keys` group by one line in cityid/cli.py."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import click


@click.command("export", help="Write the whole keyring (secret) to a file, under a key "
               "ceremony one admin started and another approved. Audited.")
@click.option("--ceremony", "ceremony_id", required=True, type=click.UUID,
              help="The approved keyring_export ceremony (POST /v1/key-ceremonies).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_export(ceremony_id: uuid.UUID, out: Path) -> None:
    from cityid.cli import _fail, _runtime
    from cityid.db import unit_of_work
    from cityid.errors import AppError
    from privacy import audit
    from privacy.audit import Actor
    from staff import ceremony

    runtime = _runtime()
    actor = Actor("cli", "admin")
    try:
        with unit_of_work(runtime.sessions) as session:
            ceremony.use(session, actor=actor, ceremony_id=ceremony_id, kind="keyring_export",
                         recipient_id=None, clock=runtime.clock)
            keyring = runtime.vault.keyring
            audit.record(session, actor=actor, action="keys.keyring_exported",
                         subject=f"ceremony:{ceremony_id}",
                         detail={"kek_versions": len(keyring.keks)}, clock=runtime.clock)
            # Written inside the transaction: a file that can't be written leaves the
            # ceremony unspent and nothing audited as exported.
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(keyring.to_json())
    except AppError as exc:
        _fail(exc.detail)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"wrote the keyring to {out} (mode 0600); move it into its new home and "
               "delete this copy")
