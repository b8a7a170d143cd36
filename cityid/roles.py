"""The staff roles: one vocabulary for the access matrix, the web pages, the CLI, the lifecycle
rules and the staff accounts.

It sits in the kernel so that every layer may name a role without importing the staff package
(enrollment and idcard name who may override a rulebook or revoke a card for fraud).
"""

from __future__ import annotations

from enum import StrEnum


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
