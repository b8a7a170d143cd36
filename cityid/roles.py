"""The staff roles: one vocabulary for the access matrix, the web pages, the CLI, the lifecycle
rules and the staff accounts.

It sits in the kernel so that every layer may name a role without importing the staff package
(enrollment and idcard name who may override a rulebook or revoke a card for fraud).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    AUDITOR = "auditor"
    # A partner's own people: the partner admin manages the partner's desk accounts; both see
    # only what the partner's policy allows.
    PARTNER_ADMIN = "partner_admin"
    PARTNER_DESK = "partner_desk"


PARTNER_ROLES = frozenset({Role.PARTNER_ADMIN, Role.PARTNER_DESK})
# The program's own staff, who work at enrollment centres and in administration.
PROGRAM_ROLES = frozenset(Role) - PARTNER_ROLES

# Who may take a card action besides staff: the cardholder themselves, signed in with a one-time
# code sent to their contact on file (holder/). Not a staff role: no account can hold it.
CardActor = Role | Literal["holder"]
