"""Request and response bodies of second-factor enrolment, password life and sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from staff.schemas import StrictModel


class Credentials(StrictModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class EnrolmentConfirm(Credentials):
    code: str = Field(min_length=6, max_length=8, pattern=r"^[0-9]+$")


class EnrolmentOut(BaseModel):
    """Shown once: neither the secret nor its QR code can be fetched again."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    """Shown once; each works once, in place of an authenticator code."""

    recovery_codes: list[str]


class PasswordChange(Credentials):
    new_password: str = Field(min_length=12, max_length=1024)
    second_factor: str | None = Field(default=None, min_length=1, max_length=32)


class PasswordReset(StrictModel):
    password: str = Field(min_length=12, max_length=1024)


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool
