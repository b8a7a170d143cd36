"""The forbidden-field guard: the data this program promises never to hold.

The list is data (``forbidden_fields.yaml``); a city can add names without code changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from privacy.errors import ForbiddenField

MAX_DEPTH = 32


def canonical(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalnum())


@lru_cache(maxsize=1)
def forbidden_names() -> frozenset[str]:
    text = resources.files("privacy").joinpath("forbidden_fields.yaml").read_text()
    data = yaml.safe_load(text)
    names = data.get("names") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RuntimeError("forbidden_fields.yaml must hold a list of names under `names`")
    return frozenset(canonical(n) for n in names)


def is_forbidden(name: str) -> bool:
    return canonical(name) in forbidden_names()


def _walk_keys(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _walk_keys(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk_keys(inner, depth + 1)


def check_names(names: Iterable[str]) -> None:
    """Raise ``ForbiddenField`` if any name is forbidden. The message names no value."""
    for name in names:
        # Bracketed form names ("person[nationality]") and dotted paths count too.
        for part in name.replace("]", "[").replace(".", "[").split("["):
            if part and is_forbidden(part):
                raise ForbiddenField()


def check_document(document: Any) -> None:
    check_names(_walk_keys(document))
