from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Channel = Literal["email", "sms"]
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$"
PHONE_PATTERN = r"^\+?[0-9 ()\-]{7,20}$"


def _iso_text(value: object) -> object:
    # An ISO date as text, never a number read as a timestamp.
    if not isinstance(value, str | date):
        raise ValueError("a date as YYYY-MM-DD")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeRequestIn(Strict):
    card_number: str = Field(pattern=r"^[0-9]{16}$")
    date_of_birth: Annotated[date, BeforeValidator(_iso_text)]
    lang: str | None = Field(default=None, max_length=35)


class CodeRequestOut(BaseModel):
    """The one answer, whatever the card, the contact on file or the date of birth."""

    detail: str
    lang: str


class CodeExchangeIn(Strict):
    card_number: str = Field(pattern=r"^[0-9]{16}$")
    code: str = Field(pattern=r"^[0-9]{6}$")
    lang: str | None = Field(default=None, max_length=35)


class HolderSessionOut(BaseModel):
    token: str
    expires_at: datetime


class ContactIn(Strict):
    value: str = Field(min_length=3, max_length=254)
    lang: str | None = Field(default=None, max_length=35)


class CodeIn(Strict):
    code: str = Field(pattern=r"^[0-9]{6}$")
    lang: str | None = Field(default=None, max_length=35)


class ChoiceIn(Strict):
    opted_in: bool


class ContactCodeOut(BaseModel):
    detail: str
    channel: Channel


class HolderCardOut(BaseModel):
    """The holder's own card: its state and dates, never its number in full."""

    issue_number: int
    status: Literal["active", "suspended", "revoked", "expired"]
    status_reason: str | None
    expires_on: date
    number_ends_with: str
    renewal_opens_on: date
    renewal_closes_on: date
    can_renew: bool
    fulfilment: str


class HolderOverview(BaseModel):
    card: HolderCardOut
    email: str | None  # shown masked: enough to recognise, not to read
    phone: str | None
    notifications: dict[str, bool]
    session_expires_at: datetime
