"""``cityid seed``: synthetic cardholders for demos and benchmarks (the rows are made by
idcard/seed.py)."""

from __future__ import annotations

import os
import sys

import click

from cityid.errors import AppError
from cityid.roles import Role
from cityid.settings import get_settings
from entry.cli.common import command_runtime, fail
from entry.cli.service import prepare
from idcard import seed as seeding
from privacy.audit import Actor


@click.command("seed", help="Make N synthetic cardholders (an approved application and an "
               "active card each) for demos and benchmarks.")
@click.option("--cardholders", "count", required=True, type=click.IntRange(1, 8_000_000))
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Cardholders per transaction.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Processes making the rows (default: the CPU count).")
def seed(count: int, batch: int, workers: int | None) -> None:
    settings = get_settings()
    prepare(settings)
    runtime = command_runtime(settings)
    desk, made = runtime.cards, 0
    try:
        seed_plan = seeding.plan(runtime.sessions, desk=desk, count=count)
        with click.progressbar(length=count, label="seeding cardholders",
                               file=sys.stderr) as bar:
            def progress(n: int) -> None:
                nonlocal made
                made += n
                bar.update(n)

            seeding.seed(runtime.sessions, seed_plan, desk=desk, actor=Actor("cli", Role.ADMIN),
                         batch=batch, workers=workers or os.cpu_count() or 1,
                         on_progress=progress)
    except AppError as exc:
        fail(exc.detail)
    except KeyboardInterrupt:
        fail(f"interrupted; {made} synthetic cardholders were written and are kept")
    click.echo(f"seeded {made} synthetic cardholders; "
               f"{seed_plan.cards_before + made} cards in all")
