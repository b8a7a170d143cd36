"""Immigration terms in stored values: the word list (``immigration_terms.yaml``) and one
matcher, shared by the subpoena drill (which scans every value at rest) and by the checks that
refuse them in program data an administrator types (partner, benefit and key names, usernames).

The matcher never says which term it found: a finding names where, never what, so a report of
the drill cannot itself repeat what it found."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from privacy.errors import ImmigrationTermRefused

LATIN_END = 0x0250  # Basic Latin to Latin Extended-B: the letters whose accents are dropped
ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
MATCHES = ("word", "prefix", "anywhere")


def _fold_latin_accents(text: str) -> str:
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char) and out and ord(out[-1]) < LATIN_END:
            continue  # an accent on a Latin letter; marks that make up other scripts stay
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def normalise(text: str, *, fold_case: bool = True) -> str:
    """" words joined by single spaces ", padded with a space each side, so a word boundary is
    a space in every script that has one."""
    text = unicodedata.normalize("NFKC", text)
    if fold_case:
        text = text.casefold()
    text = _fold_latin_accents(ARABIC_MARKS.sub("", text))
    words = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in text).split()
    return " " + " ".join(words) + " "


@dataclass(frozen=True)
class TermList:
    folded: re.Pattern[str]
    exact: re.Pattern[str] | None
    languages: tuple[str, ...]

    def found_in(self, text: str) -> bool:
        if self.folded.search(normalise(text)):
            return True
        return self.exact is not None and bool(self.exact.search(normalise(text,
                                                                          fold_case=False)))


def _pattern(term: str, match: str) -> str:
    if match not in MATCHES:
        raise ValueError(f"immigration_terms.yaml: unknown match {match!r}")
    body = re.escape(normalise(term).strip())
    if match == "anywhere":
        return body
    return " " + body + (" " if match == "word" else "")


def build(data: dict[str, object]) -> TermList:
    patterns: list[str] = []
    languages = data.get("languages")
    if not isinstance(languages, dict):
        raise ValueError("immigration_terms.yaml needs a languages map")
    for spec in languages.values():
        default = spec.get("match", "word")
        for term in spec["terms"]:
            text = str(term)
            if text.endswith("*"):
                patterns.append(_pattern(text[:-1], "prefix"))
            else:
                patterns.append(_pattern(text, default))
    # Longest first, so a regex engine tries "illegal alien" before "illegal".
    folded = re.compile("|".join(sorted(set(patterns), key=len, reverse=True)))
    exact_terms = [str(t) for t in data.get("case_sensitive") or []]  # type: ignore[attr-defined]
    exact = (re.compile("|".join(" " + re.escape(normalise(t, fold_case=False).strip()) + " "
                                 for t in exact_terms)) if exact_terms else None)
    return TermList(folded=folded, exact=exact, languages=tuple(languages))


@lru_cache(maxsize=1)
def immigration_terms() -> TermList:
    data = yaml.safe_load(resources.files("privacy").joinpath("immigration_terms.yaml")
                          .read_text(encoding="utf-8"))
    return build(data)


def holds_immigration_term(text: str) -> bool:
    return immigration_terms().found_in(text)


def refuse_immigration_terms(field: str, value: str | None) -> None:
    """For program data typed by an administrator, stored in the clear: refused, not kept."""
    if value is not None and holds_immigration_term(value):
        raise ImmigrationTermRefused(field)
