"""Retention and the privacy drill: ``cityid retention`` and ``cityid privacy``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from cityid.db import unit_of_work
from cityid.settings import get_settings
from entry.cli.common import command_runtime, require_installation
from oversight import drill
from oversight import retention as retention_rules


@click.group("retention", help="Retention: purge what the program no longer needs.")
def retention() -> None:
    pass


@retention.command("run", help="Purge what is due (shred data keys, delete rows). Safe to run "
                   "on several workers at once; schedule it daily.")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
def retention_run(dry_run: bool, batch: int) -> None:
    settings = get_settings()
    runtime = command_runtime(settings)
    rules = retention_rules.load_rules(settings.retention_path)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.__exit__(None, None, None)
            bars.clear()
            bars[stage] = click.progressbar(length=max(total, 1), label=f"checking {stage}",
                                            file=sys.stderr).__enter__()
        bars[stage].update(done)

    try:
        report = retention_rules.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock,
                                     rules=rules, dry_run=dry_run, batch=batch,
                                     progress=progress)
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
    click.echo(report.summary())


@click.group("privacy", help="Privacy checks.")
def privacy() -> None:
    pass


@privacy.command("drill", help="Read a database dump without keys and report what personal "
                 "data it gives away (exit 1 if any).")
@click.option("--dump", "dump", type=click.Path(exists=True, path_type=Path), default=None,
              help="A SQLite file or a plain pg_dump (default: dump the configured database).")
@click.option("--canaries", type=click.Path(exists=True, path_type=Path), default=None,
              help="A file of known personal values, one a line, to search for.")
@click.option("--with-keys", is_flag=True, help="Also report what the keys would open.")
def privacy_drill(dump: Path | None, canaries: Path | None, with_keys: bool) -> None:
    settings = get_settings()
    if dump is None:
        require_installation(settings)
    with tempfile.TemporaryDirectory() as folder:
        source = dump or drill.dump_database(settings.effective_database_url, Path(folder))
        report = drill.analyse(
            drill.read_dump(source), source=str(dump or "a fresh dump of the configured database"),
            canaries=canaries.read_text().splitlines() if canaries else ())
    if with_keys:
        runtime = command_runtime(settings)
        with unit_of_work(runtime.sessions) as session:
            report.lawful = drill.lawful_reach(session, runtime.vault)
    click.echo(report.render())
    sys.exit(0 if report.clean else 1)
