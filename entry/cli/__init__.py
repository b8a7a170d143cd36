"""The `cityid` command. Each command runs in one transaction (or, for long online work such as
key rotation, in batches of their own) and shows progress for long work.

One module per topic, each a click group or command of ``main``: service.py (serve, db),
accounts.py (staff), keys.py, cards.py, seed.py, verify.py, retention.py (retention and the
privacy drill), audit.py. A topic's module is imported only when one of its commands runs or
shows its help: together they import every package (argon2, fonts, PDF, COSE, Alembic), which
would make `cityid --help` and every command wait seconds for what they don't use."""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import click

from cityid.errors import AppError
from cityid.logging import configure_logging
from cityid.settings import get_settings

EXIT_INVALID, EXIT_NO_STATUS_LIST = 3, 4  # `cityid verify`'s, besides 0 for a valid card

# name: (module, the command in it, the first sentence of its help, which `cityid --help` lists
# without importing the module; tests/cityid/test_cli_topics.py holds the two to each other).
TOPICS: dict[str, tuple[str, str, str]] = {
    "audit": ("entry.cli.audit", "audit", "The audit chain."),
    "cards": ("entry.cli.cards", "cards", "Cards."),
    "db": ("entry.cli.service", "db", "Database schema."),
    "keys": ("entry.cli.keys", "keys",
             "Key-encryption keys, the blind-index key and signing keys."),
    "notifications": ("entry.cli.notifications", "notifications",
                      "Notifications: send the outbox, queue renewal notices."),
    "privacy": ("entry.cli.retention", "privacy", "Privacy checks."),
    "retention": ("entry.cli.retention", "retention",
                  "Retention: purge what the program no longer needs."),
    "seed": ("entry.cli.seed", "seed", "Make N synthetic cardholders (an approved application "
             "and an active card each) for demos and benchmarks."),
    "serve": ("entry.cli.service", "serve",
              "Start the service (migrates the database and makes keys on first run)."),
    "sites": ("entry.cli.sites", "sites", "Enrollment centres and their slots."),
    "staff": ("entry.cli.accounts", "staff", "Staff accounts."),
    "verify": ("entry.cli.verify", "verify",
               "Verify a card credential: QR text, or --image of a card's back."),
}


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class _Commands(click.Group):
    """Topics load on first use (see TOPICS). A refusal of the program's own, or a database that
    is unreachable or not migrated, is one line, not a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *TOPICS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in TOPICS:
            module, attribute, _ = TOPICS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # A topic is listed by its summary whether or not it is loaded: click shortens a
        # command's whole help differently from its first sentence alone (and differently in
        # each release), and the listing must not change with what happens to be imported.
        listed = click.Group(commands={name: click.Command(name, help=TOPICS[name][2])
                                       if name in TOPICS else self.commands[name]
                                       for name in self.list_commands(ctx)})
        click.Group.format_commands(listed, ctx, formatter)

    def invoke(self, ctx: click.Context) -> Any:
        # Here, not at the top: SQLAlchemy takes longer to import than `cityid --help` to run.
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return super().invoke(ctx)
        except AppError as exc:
            fail(exc.detail)
        except SQLAlchemyError as exc:
            fail(f"the database failed ({type(exc).__name__}); is it reachable and migrated "
                 "(`cityid db upgrade`)?")


@click.group(cls=_Commands, help="cityid: municipal identity cards.")
def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
