from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from cityid.roles import Role

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SignIn(StrictModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    # A code from the authenticator app (six digits) or a recovery code ("xxxxx-xxxxx").
    second_factor: str | None = Field(default=None, min_length=1, max_length=32)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - a scheme name
    expires_at: datetime
    role: Role


class StaffCreate(StrictModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=12, max_length=1024)
    role: Role


class PartnerAccountCreate(StrictModel):
    """One of a partner's own accounts; the program admin makes its first partner admin."""

    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=12, max_length=1024)
    role: Literal[Role.PARTNER_ADMIN, Role.PARTNER_DESK] = Role.PARTNER_ADMIN


class StaffUpdate(StrictModel):
    # Strict: {"active": 0} or "false" is a client's bug, not a deactivation.
    active: StrictBool | None = None
    role: Role | None = None


class StaffOut(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    active: bool
    created_at: datetime
    partner_id: uuid.UUID | None = None
