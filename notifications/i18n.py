"""Messages in the holder's language, from gettext catalogs
(``locale/<locale>/LC_MESSAGES/notifications.po``) read once at import, like the status check's.
Every kind in rules.yaml needs a subject and a body in all eight languages, or the program stops
at start-up rather than send a resident words they may not read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from babel.dates import format_date, format_time
from babel.messages.pofile import read_po

from enrollment.i18n import DEFAULT, LOCALE_IDS, SUPPORTED, CatalogError
from notifications.rules import rules

LOCALE_DIR = Path(__file__).with_name("locale")


def _keys() -> frozenset[str]:
    return frozenset(f"{kind}.{part}" for kind in rules().kinds for part in ("subject", "body"))


def _load(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / LOCALE_IDS[lang] / "LC_MESSAGES" / "notifications.po"
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALE_IDS[lang], abort_invalid=True)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    messages = {str(m.id): str(m.string) for m in catalog if m.id}
    if missing := _keys() - {k for k, v in messages.items() if v.strip()}:
        raise CatalogError(f"{path}: missing {', '.join(sorted(missing))}")
    return messages


CATALOGS: Mapping[str, Mapping[str, str]] = {lang: _load(lang) for lang in SUPPORTED}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    lang: str


def language_of(preferred: list[str] | tuple[str, ...]) -> str:
    """The first of the holder's preferred languages the program writes in, else English."""
    return next((lang for lang in preferred if lang in SUPPORTED), DEFAULT)


def _shown(name: str, value: str, lang: str) -> str:
    # Dates travel as ISO text and are written the holder's way.
    if name.endswith("_on"):
        return format_date(date.fromisoformat(value), "long", locale=LOCALE_IDS[lang])
    if name == "time":  # a local time of day, HH:MM
        return format_time(time.fromisoformat(value), "short", locale=LOCALE_IDS[lang])
    return value


def render(kind: str, lang: str, params: Mapping[str, str]) -> Rendered:
    lang = lang if lang in CATALOGS else DEFAULT
    catalog = CATALOGS[lang]
    values = {name: _shown(name, value, lang) for name, value in params.items()}
    return Rendered(subject=catalog[f"{kind}.subject"],
                    body=catalog[f"{kind}.body"].format(**values), lang=lang)
