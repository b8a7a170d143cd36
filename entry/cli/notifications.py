"""`cityid notifications`: the outbox worker (which also queues appointment reminders as they
fall due) and the renewal scan."""

from __future__ import annotations

import time

import click

from appointments import reminders as appointment_reminders
from appointments.rules import load_rules
from cityid.db import unit_of_work
from entry.cli.common import command_runtime
from holder import codes, renewal
from notifications.service import NoticeDesk
from notifications.transports import transports_for
from notifications.worker import deliver_due


@click.group(help="Notifications: send the outbox, queue renewal notices.")
def notifications() -> None:
    pass


@notifications.command("send", help="Send what is due in the outbox (SMTP, SMS), deleting each "
                       "message once sent and retrying failures with back-off; also queues "
                       "appointment reminders as they fall due and deletes expired one-time "
                       "codes and holder sessions. Runs until stopped, or once.")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between passes.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def send(once: bool, interval: float, limit: int) -> None:

    runtime = command_runtime()
    transports = transports_for(runtime.settings)
    desk = NoticeDesk(vault=runtime.vault, clock=runtime.clock)
    while True:
        with unit_of_work(runtime.sessions) as session:
            codes.purge_expired(session, now=runtime.clock.now())
            appointment_reminders.queue_due(session, desk=desk, rules=load_rules())
        report = deliver_due(runtime.sessions, desk=desk, transports=transports, limit=limit)
        if once:
            click.echo(report.summary())
            return
        if report.sent or report.retrying or report.dropped:
            click.echo(report.summary(), err=True)
        time.sleep(interval)


@notifications.command("renewal-scan", help="Queue a renewal notice for each card whose "
                       "renewal window opened (once per card; for holders who opted in). "
                       "Schedule it daily.")
def renewal_scan() -> None:

    runtime = command_runtime()
    with unit_of_work(runtime.sessions) as session:
        queued = renewal.scan(session, desk=NoticeDesk(vault=runtime.vault, clock=runtime.clock))
    click.echo(f"{queued} renewal notices queued")
