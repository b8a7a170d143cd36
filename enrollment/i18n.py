"""The applicant's language: negotiating it, and the status-check messages in it.

Messages come from gettext catalogs (``locale/<locale>/LC_MESSAGES/messages.po``), read once at
import so there is no compile step. Message ids are keys, not English sentences, so English is a
catalog like the others and a missing or empty translation stops the program at start-up instead
of showing a resident a sentence they may not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.pofile import read_po

from enrollment.states import ApplicationStatus

SUPPORTED = ("en", "es", "zh", "ru", "bn", "ht", "ko", "ar")
DEFAULT = "en"

STATUSES = tuple(ApplicationStatus)

# A card's states that replace the application status on the status page: once a card was issued,
# what matters to the applicant is whether it still works, not that it was made.
CARD_STATES = ("suspended", "revoked", "expired")

# A card's fulfilment states with a message of their own (fulfilment/); mailed, ready for pickup
# and picked up are told with the application statuses of the same name.
FULFILMENT_STATES = ("to_print", "printed", "returned", "not_received")

# Babel/CLDR locale of each supported language; the program offers Simplified Chinese only.
LOCALE_IDS: Mapping[str, str] = {lang: lang for lang in SUPPORTED} | {"zh": "zh_Hans"}

LOCALE_DIR = Path(__file__).with_name("locale")
NOT_FOUND_KEY = "status_check.not_found"
THROTTLED_KEY = "status_check.throttled"
MESSAGE_KEYS = frozenset(
    [f"status.{status}.{part}" for status in STATUSES for part in ("label", "next")]
    + [f"card.{state}.{part}" for state in CARD_STATES for part in ("label", "next")]
    + [f"fulfilment.{state}.{part}" for state in FULFILMENT_STATES for part in ("label", "next")]
    + [NOT_FOUND_KEY, THROTTLED_KEY]
)

# An Accept-Language header is client input: read a bounded amount of it.
_MAX_HEADER = 1024
_MAX_RANGES = 32


class CatalogError(RuntimeError):
    """A message catalog is missing, unreadable or incomplete."""


def _load_catalog(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / LOCALE_IDS[lang] / "LC_MESSAGES" / "messages.po"
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALE_IDS[lang], abort_invalid=True)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    messages: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        key = str(message.id)
        if message.fuzzy:
            raise CatalogError(f"{path}: {key} is marked fuzzy")
        if not isinstance(message.string, str) or not message.string.strip():
            raise CatalogError(f"{path}: {key} has no translation")
        messages[key] = message.string
    if missing := MESSAGE_KEYS - messages.keys():
        raise CatalogError(f"{path}: missing {', '.join(sorted(missing))}")
    if unknown := messages.keys() - MESSAGE_KEYS:
        raise CatalogError(f"{path}: unknown message ids {', '.join(sorted(unknown))}")
    return messages


CATALOGS: Mapping[str, Mapping[str, str]] = {lang: _load_catalog(lang) for lang in SUPPORTED}


def _supported(tag: str) -> str | None:
    try:
        language = Locale.parse(tag.strip().replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return language if language in SUPPORTED else None


def _ranges(accept_language: str) -> list[str]:
    """Language ranges of an Accept-Language header, most preferred first (RFC 9110)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language[:_MAX_HEADER].split(",")[:_MAX_RANGES]):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        name, _, value = params.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                continue
        if quality <= 0:
            continue
        weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(accept_language: str | None, explicit: str | None) -> str:
    """The language to answer in: an explicit choice the program supports, else the best match
    of the Accept-Language header, else English. Any Chinese is answered in Simplified Chinese,
    the only Chinese the program has."""
    if explicit and len(explicit) <= 35 and (chosen := _supported(explicit)):
        return chosen
    if accept_language:
        match = negotiate_locale(_ranges(accept_language), list(SUPPORTED), sep="-")
        if match is not None and (chosen := _supported(match)):
            return chosen
    return DEFAULT


def _catalog(lang: str) -> Mapping[str, str]:
    try:
        return CATALOGS[lang]
    except KeyError:
        raise ValueError(f"unsupported language {lang!r}; use negotiate()") from None


def status_message(status: str, lang: str) -> tuple[str, str]:
    """The status label and the applicant's next step, in ``lang``."""
    if status not in STATUSES:
        raise ValueError(f"unknown application status {status!r}")
    catalog = _catalog(lang)
    return catalog[f"status.{status}.label"], catalog[f"status.{status}.next"]


def card_message(state: str, lang: str) -> tuple[str, str]:
    """A card's state and the holder's next step, in ``lang``."""
    if state not in CARD_STATES:
        raise ValueError(f"no status message for a card that is {state!r}")
    catalog = _catalog(lang)
    return catalog[f"card.{state}.label"], catalog[f"card.{state}.next"]


def fulfilment_message(state: str, lang: str) -> tuple[str, str]:
    """Where an active card is on its way to the holder, and the next step, in ``lang``."""
    if state not in FULFILMENT_STATES:
        raise ValueError(f"no fulfilment message for {state!r}")
    catalog = _catalog(lang)
    return catalog[f"fulfilment.{state}.label"], catalog[f"fulfilment.{state}.next"]


def not_found_message(lang: str) -> str:
    """The one answer for an unknown reference and for a wrong date of birth alike."""
    return _catalog(lang)[NOT_FOUND_KEY]


def throttled_message(lang: str) -> str:
    return _catalog(lang)[THROTTLED_KEY]


def direction(lang: str) -> Literal["rtl", "ltr"]:
    _catalog(lang)
    order = Locale.parse(LOCALE_IDS[lang]).character_order
    return "rtl" if order == "right-to-left" else "ltr"


def html_lang(lang: str) -> str:
    """The BCP 47 tag for an HTML ``lang`` attribute, e.g. ``zh-Hans``."""
    _catalog(lang)
    return LOCALE_IDS[lang].replace("_", "-")


def language_name(lang: str) -> str:
    """The language's name in itself, for a language picker."""
    _catalog(lang)
    name = Locale.parse(LOCALE_IDS[lang]).display_name
    return name or lang
