"""The holder self-service answers in the holder's language (``locale/<locale>/LC_MESSAGES/
holder.po``), read once at import; a missing translation stops the program at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from babel.messages.pofile import read_po

from enrollment.i18n import DEFAULT, LOCALE_IDS, SUPPORTED, CatalogError

LOCALE_DIR = Path(__file__).with_name("locale")
KEYS = frozenset({"code_requested", "contact_code_sent", "code_not_accepted"})


def _load(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / LOCALE_IDS[lang] / "LC_MESSAGES" / "holder.po"
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALE_IDS[lang], abort_invalid=True)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    messages = {str(m.id): str(m.string) for m in catalog if m.id and str(m.string).strip()}
    if missing := KEYS - messages.keys():
        raise CatalogError(f"{path}: missing {', '.join(sorted(missing))}")
    return messages


CATALOGS: Mapping[str, Mapping[str, str]] = {lang: _load(lang) for lang in SUPPORTED}


def message(key: str, lang: str, **values: object) -> str:
    return CATALOGS.get(lang, CATALOGS[DEFAULT])[key].format(**values)
