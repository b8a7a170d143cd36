"""The public pages' own wording: one JSON catalog per language in a directory, each holding
every key of the English one (checked when a language is first read)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from enrollment import i18n


def load_words(directory: Path, lang: str, label: str) -> Mapping[str, str]:
    catalog: dict[str, str] = json.loads((directory / f"{lang}.json").read_text("utf-8"))
    english = json.loads((directory / "en.json").read_text("utf-8"))
    missing = english.keys() - catalog.keys()
    if missing or not all(isinstance(v, str) and v.strip() for v in catalog.values()):
        raise RuntimeError(f"{label} {lang}: missing or empty {sorted(missing)}")
    return catalog


def languages() -> list[dict[str, str]]:
    """The language picker's choices: code, own name, HTML tag."""
    return [{"code": lang, "name": i18n.language_name(lang), "tag": i18n.html_lang(lang)}
            for lang in i18n.SUPPORTED]
