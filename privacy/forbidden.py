"""The forbidden-field guard: the data this program promises never to hold.

The list is data (``forbidden_fields.yaml``); a city can add names without code changes.

A name is compared the way a reader would see it, not byte by byte: Unicode compatibility forms
(NFKC: fullwidth letters, ligatures), invisible characters (zero-width spaces and joiners, soft
hyphens, bidi controls), accents and the common Cyrillic and Greek look-alikes of Latin letters
are folded away first. The name is then read as words (split at any separator and at camelCase),
and every run of consecutive words is checked, so ``country.of.birth``, ``green[card]``,
``applicantNationality`` and ``person[place][of][birth]`` are refused like their plain forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from privacy.errors import ForbiddenField

# JSON deeper than this is refused, not skipped: a guard that stops looking lets anything past.
MAX_DEPTH = 32

# A camelCase boundary: "visaType" -> "visa Type", "SSNNumber" -> "SSN Number".
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


class NestedTooDeep(ForbiddenField):
    """Same code and status as a forbidden name: the guard could not see every key."""

    title = (f"The request nests deeper than {MAX_DEPTH} levels, past what the privacy guard "
             "checks, so it is refused. This program does not collect immigration status, "
             "citizenship, nationality, place of birth, identity-document numbers or their "
             "issuing country.")


@dataclass(frozen=True)
class _Rules:
    names: frozenset[str]
    longest: int
    confusables: dict[int, str]


def canonical(name: str) -> str:
    """A name folded and reduced to letters and digits: "Immigration_Status" and
    "immigrationStatus" are one name."""
    return "".join(_words(name))


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    text = resources.files("privacy").joinpath("forbidden_fields.yaml").read_text()
    data = yaml.safe_load(text)
    names = data.get("names") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RuntimeError("forbidden_fields.yaml must hold a list of names under `names`")
    table = data.get("confusables") or {}
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and len(k) == 1 and k.isascii() and isinstance(v, str)
            for k, v in table.items()):
        raise RuntimeError("forbidden_fields.yaml `confusables` maps a Latin letter to the "
                           "characters that look like it")
    confusables = {ord(ch): latin for latin, look_alikes in table.items() for ch in look_alikes}
    # Names are folded with an empty table first: the list itself is plain Latin.
    folded = frozenset("".join(_split(_fold(n, {}))) for n in names)
    return _Rules(folded, max(len(n) for n in folded), confusables)


def forbidden_names() -> frozenset[str]:
    return _rules().names


def _fold(name: str, confusables: dict[int, str]) -> str:
    text = unicodedata.normalize("NFKC", name)
    # Accents go with their marks (NFKD), invisible format characters (Cf) with nothing.
    text = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if unicodedata.category(c) not in {"Cf", "Mn", "Me", "Mc"})
    return text.translate(confusables)


def _split(text: str) -> list[str]:
    return [word.casefold() for chunk in _SEPARATORS.split(text) if chunk
            for word in _CAMEL.split(chunk) if word]


def _words(name: str) -> list[str]:
    return _split(_fold(name, _rules().confusables))


# Names up to this length are remembered (the same few arrive on every request); longer ones,
# which only a caller's junk has, are read each time, so the cache can't be made to grow large.
_CACHED_LENGTH = 64


def is_forbidden(name: str) -> bool:
    """Whether any run of consecutive words in ``name`` is a forbidden name."""
    return _is_forbidden_cached(name) if len(name) <= _CACHED_LENGTH else _is_forbidden(name)


@lru_cache(maxsize=8192)
def _is_forbidden_cached(name: str) -> bool:
    return _is_forbidden(name)


def _is_forbidden(name: str) -> bool:
    rules = _rules()
    words = _words(name)
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if len(joined) > rules.longest:
                break
            if joined in rules.names:
                return True
    return False


def _walk_keys(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > MAX_DEPTH:
        raise NestedTooDeep()
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
        if is_forbidden(name):
            raise ForbiddenField()


def check_document(document: Any) -> None:
    """Every key of a parsed JSON document, at any depth up to ``MAX_DEPTH`` (deeper is
    refused)."""
    check_names(_walk_keys(document))
