"""The audit chain: ``cityid audit``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from cityid.db import unit_of_work
from cityid.errors import AppError
from entry.cli.common import command_runtime, fail
from idcard.audit_heads import CoseHeadSigning
from privacy import anchor
from privacy import audit as audit_chain


@click.group("audit", help="The audit chain.")
def audit() -> None:
    pass


@audit.command("verify", help="Link waiting entries into the chain, then check the whole chain "
               "and hold it to every head published so far; name the first broken entry or "
               "anchor (exit 2).")
@click.option("--anchors", "anchors_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Published heads kept outside the database (JSON lines, from `cityid audit "
              "anchor` or /.well-known/cityid/audit-head): the chain must still hold each.")
@click.option("--jwks", "jwks_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check the anchors' signatures with this saved jwks.json (default: every "
              "signing key in this installation's keyring).")
def audit_verify(anchors_file: Path | None, jwks_file: Path | None) -> None:
    runtime = command_runtime()
    own_keys = runtime.audit_publisher.signing
    file_keys = own_keys
    if jwks_file is not None:
        try:
            file_keys = CoseHeadSigning(runtime.vault, jwks=json.loads(jwks_file.read_text()))
        except (ValueError, UnicodeDecodeError):
            fail(f"{jwks_file} is not a JSON key set")
    linked = runtime.audit_chainer.drain()
    if linked:
        click.echo(f"linked {linked} waiting entries into the chain")
    with unit_of_work(runtime.sessions) as session:
        report = audit_chain.verify_chain(session)
        if not report.ok:
            click.echo(f"audit chain BROKEN at entry {report.seq}: {report.problem} "
                       f"({report.entries} entries verified before it)")
            sys.exit(2)
        held = [anchor.check_anchors(session, anchor.stored_anchors(session, own_keys),
                                     chain_end=report.entries)]
        if anchors_file is not None and held[0].ok:
            with anchors_file.open(encoding="utf-8", errors="replace") as lines:
                held.append(anchor.check_anchors(
                    session, anchor.anchors_in_file(lines, file_keys), chain_end=report.entries))
    for check in held:
        if not check.ok:
            click.echo(f"audit chain BROKEN behind a published head: {check.problem}")
            sys.exit(2)
    waiting = (f"; {report.waiting} recorded since, waiting to be chained"
               if report.waiting else "")
    click.echo(f"audit chain ok: {report.entries} entries{waiting}; "
               f"heads published in the database: {held[0].checked}, all hold")
    if len(held) > 1:
        newest = held[1].newest
        last = (f" (newest: entry {newest.seq}, published {newest.public()['published_at']})"
                if newest else "")
        click.echo(f"anchors in {anchors_file}: {held[1].checked}, all hold{last}")


@audit.command("anchor", help="Link waiting entries, sign the chain's head and append it to "
               "FILE (JSON lines), for a store outside the database that only appends.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def audit_anchor(out: Path) -> None:
    runtime = command_runtime()
    runtime.audit_chainer.drain()
    head = None
    try:
        with unit_of_work(runtime.sessions) as session:
            head = runtime.audit_publisher.publish(session, force=True)
    except AppError as exc:
        fail(exc.detail)
    if head is None:
        fail("the chain's head could not be published")
        return
    # Appended only once the head is committed as published; fsync, as the line is the anchor.
    with out.open("a", encoding="utf-8") as handle:
        handle.write(head.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    click.echo(f"anchored entry {head.seq} ({head.hash[:16]}...), published "
               f"{head.public()['published_at']}, to {out}")


@audit.command("chain", help="Link every waiting entry into the chain now (the API's processes "
               "do this every CITYID_AUDIT_CHAIN_INTERVAL_SECONDS).")
def audit_chain_now() -> None:
    runtime = command_runtime()
    click.echo(f"linked {runtime.audit_chainer.drain()} waiting entries into the chain")
