"""A string column that reads back as one of a StrEnum's members.

States and roles are stored as their plain strings (the columns stay VARCHAR, no migration), and
a model reads them as the enum, so a comparison with a misspelt state fails type checking rather
than silently never matching.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        # A plain string is accepted only when it is one of the members: a typo is refused at
        # the write, not stored.
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)
