"""`cityid sites slots`: make the slots of every active site ahead, on a schedule (daily)."""

from __future__ import annotations

from datetime import datetime

import click

from cityid.db import unit_of_work
from cityid.settings import get_settings
from entry.cli.common import command_runtime
from privacy.audit import Actor
from sites import repository as site_repository
from sites import service as site_service
from sites.rules import load_rules

SCHEDULER = Actor("slots", "system")


@click.group(help="Enrollment centres and their slots.")
def sites() -> None:
    pass


@sites.command("slots", help="Make the slots of every active site up to the rule's weeks "
               "ahead (sites/rules.yaml) or --through a day. Only what is missing is added, so "
               "it is safe to run daily; a slot is bookable only once its release time comes.")
@click.option("--through", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def slots(through: datetime | None) -> None:

    runtime = command_runtime(get_settings())
    rules = load_rules()
    with unit_of_work(runtime.sessions) as session:
        ids = [s.id for s in site_repository.list_sites(session, active_only=True)]
    total = 0
    for site_id in ids:  # one transaction per site: a busy site does not hold the others
        with unit_of_work(runtime.sessions) as session:
            made, last = site_service.generate_slots(
                session, actor=SCHEDULER, site_id=site_id, rules=rules, clock=runtime.clock,
                through=through.date() if through else None)
            total += made
            click.echo(f"site {site_id}: {made} slots added through {last.isoformat()}")
    click.echo(f"{total} slots added across {len(ids)} sites")
