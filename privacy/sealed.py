"""Sealed fields, declared once on the model that holds them.

A model holding personal data names its sealed fields in ``__sealed__``; each is kept as
ciphertext in the column ``<field>_enc``, under the data key of the row's owner, with associated
data naming the table, the field and the row (``privacy.vault``). The vault seals and opens them
from this declaration (``DataKeyHandle.seal_fields``, ``Vault.open_fields``), so no service
spells out a column's encoding, and the at-rest check can ask every model what it seals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cityid.db import Base

# How a value becomes the bytes that are sealed: raw bytes, UTF-8 text, an ISO date, or compact
# JSON with sorted keys (so one value always seals the same plaintext).
Encoding = Literal["bytes", "text", "date", "json"]


@dataclass(frozen=True)
class SealedFields:
    fields: Mapping[str, Encoding]
    owner: str = "resident_id"  # the attribute naming whose data key seals the row
    row: str = "id"  # the attribute the associated data names the row by

    def encoding(self, model: type[Base], field: str) -> Encoding:
        try:
            return self.fields[field]
        except KeyError:
            raise ValueError(f"{model.__name__}.{field} is not a sealed field") from None


def sealed_fields_of(model: type[Base]) -> SealedFields:
    declared = getattr(model, "__sealed__", None)
    if not isinstance(declared, SealedFields):
        raise TypeError(f"{model.__name__} declares no sealed fields")
    return declared


def models_with_sealed_fields() -> list[type[Base]]:
    """Every mapped model that declares sealed fields: what the at-rest checks walk."""
    return [m.class_ for m in Base.registry.mappers
            if isinstance(getattr(m.class_, "__sealed__", None), SealedFields)]
