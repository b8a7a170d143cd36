"""Staff accounts: ``cityid staff``."""

from __future__ import annotations

import sys

import click

from cityid.db import unit_of_work
from cityid.errors import AppError
from cityid.roles import PROGRAM_ROLES, Role
from entry.cli.common import command_runtime, fail
from privacy.audit import Actor
from staff import service as staff_service


@click.group("staff", help="Staff accounts.")
def staff() -> None:
    pass


@staff.command("add", help="Add a staff account; the password is read from a prompt or stdin.")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice([r.value for r in Role if r in PROGRAM_ROLES]))
def staff_add(username: str, role: str) -> None:
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    runtime = command_runtime()

    try:
        with unit_of_work(runtime.sessions) as session:
            staff_service.create_account(session, actor=Actor("cli", Role.ADMIN), username=username,
                                         password=password, role=Role(role), clock=runtime.clock)
    except AppError as exc:
        fail(exc.detail)
    click.echo(f"added {username.lower()} ({role})")
