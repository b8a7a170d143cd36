"""Cards: ``cityid cards``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cityid.db import unit_of_work
from cityid.roles import Role
from entry.cli.common import command_runtime
from idcard import service as card_service
from privacy.audit import Actor


@click.group("cards", help="Cards.")
def cards() -> None:
    pass


@cards.command("print", help="Render every card waiting to be printed into one PDF, and mark "
               "them printed.")
@click.option("--status", "status", default="approved", show_default=True,
              type=click.Choice(["approved", "printed"]),
              help="approved: cards of approved applications not yet printed; printed: reprint.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
def cards_print(status: str, out: Path) -> None:
    runtime = command_runtime()
    fulfilment = ["to_print"] if status == "approved" else ["printed"]

    def write(pdf: bytes) -> None:
        tmp = out.with_suffix(out.suffix + ".part")
        tmp.write_bytes(pdf)
        tmp.replace(out)

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="rendering cards", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        with unit_of_work(runtime.sessions) as session:
            count = card_service.print_batch(session, desk=runtime.cards,
                                             actor=Actor("cli", Role.SUPERVISOR),
                                             fulfilment=fulfilment, write=write,
                                             progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if count == 0:
        click.echo("no cards are waiting to be printed")
        return
    click.echo(f"printed {count} cards to {out}")
