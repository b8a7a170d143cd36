"""The applicant's language: every status in every language, and how the language is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrollment import i18n
from enrollment.i18n import (
    STATUSES,
    SUPPORTED,
    direction,
    negotiate,
    not_found_message,
    status_message,
    throttled_message,
)

OTHER_LANGUAGES = [lang for lang in SUPPORTED if lang != "en"]
# Scripts each language is written in: a translation that fell back to English would fail.
SCRIPT_RANGES = {
    "zh": (0x4E00, 0x9FFF),
    "ru": (0x0400, 0x04FF),
    "bn": (0x0980, 0x09FF),
    "ko": (0xAC00, 0xD7AF),
    "ar": (0x0600, 0x06FF),
}


def test_supported_languages() -> None:
    assert SUPPORTED == ("en", "es", "zh", "ru", "bn", "ht", "ko", "ar")


@pytest.mark.parametrize("lang", SUPPORTED)
@pytest.mark.parametrize("status", STATUSES)
def test_every_status_has_a_label_and_next_step(status: str, lang: str) -> None:
    label, next_step = status_message(status, lang)
    assert label.strip() and next_step.strip()
    assert len(next_step) > len(label)


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_translations_differ_from_english(lang: str) -> None:
    # No message is identical to English by design, so any equality is an untranslated string.
    for status in STATUSES:
        english = status_message(status, "en")
        translated = status_message(status, lang)
        assert translated[0] != english[0], status
        assert translated[1] != english[1], status
    assert not_found_message(lang) != not_found_message("en")
    assert throttled_message(lang) != throttled_message("en")


@pytest.mark.parametrize(("lang", "script"), SCRIPT_RANGES.items())
def test_translations_are_in_the_languages_script(lang: str, script: tuple[int, int]) -> None:
    low, high = script
    for status in STATUSES:
        for text in status_message(status, lang):
            assert any(low <= ord(char) <= high for char in text), (status, text)


@pytest.mark.parametrize("lang", SUPPORTED)
def test_labels_are_distinct_within_a_language(lang: str) -> None:
    labels = [status_message(status, lang)[0] for status in STATUSES]
    assert len(set(labels)) == len(labels)


def test_not_found_message_is_one_sentence_for_both_causes() -> None:
    assert "reference" in not_found_message("en")
    assert "date of birth" in not_found_message("en")


@pytest.mark.parametrize(("lang", "expected"), [(lang, "rtl" if lang == "ar" else "ltr")
                                                for lang in SUPPORTED])
def test_direction(lang: str, expected: str) -> None:
    assert direction(lang) == expected


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"),
    ("", "en"),
    ("*", "en"),
    ("fr-FR, de;q=0.8", "en"),
    ("es-MX,es;q=0.9,en;q=0.8", "es"),
    ("en;q=0.5, ko", "ko"),
    ("fr, ru;q=0.3", "ru"),
    ("zh-CN,zh;q=0.9", "zh"),
    ("zh-Hans", "zh"),
    ("zh", "zh"),
    ("zh-TW", "zh"),
    ("ar-EG", "ar"),
    ("bn-BD", "bn"),
    ("ht", "ht"),
    ("HT", "ht"),
    ("es;q=0, ko;q=0.1", "ko"),
    ("es;q=banana, ar;q=0.2", "ar"),
    ("x" * 5000, "en"),
])
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header, None) == expected


@pytest.mark.parametrize(("explicit", "header", "expected"), [
    ("ar", "es", "ar"),
    ("zh-Hans", "en", "zh"),
    ("zh_CN", None, "zh"),
    ("KO", None, "ko"),
    ("klingon", "ru", "ru"),
    ("fr", "bn", "bn"),
    ("", "ht", "ht"),
    ("es" + "x" * 100, None, "en"),
])
def test_explicit_language_wins_when_supported(explicit: str, header: str | None,
                                               expected: str) -> None:
    assert negotiate(header, explicit) == expected


def test_unknown_status_and_language_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="status"):
        status_message("teleported", "en")
    with pytest.raises(ValueError, match="language"):
        status_message("approved", "fr")


def test_a_catalog_missing_a_message_fails_loudly(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    source = (i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    start = source.index('msgid "status.mailed.next"')
    end = source.index("\n\n", start)
    broken_dir = tmp_path / "es" / "LC_MESSAGES"
    broken_dir.mkdir(parents=True)
    (broken_dir / "messages.po").write_text(source[:start] + source[end:], "utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    with pytest.raises(i18n.CatalogError, match=r"missing status\.mailed\.next"):
        i18n._load_catalog("es")


def test_an_empty_translation_fails_loudly(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    source = (i18n.LOCALE_DIR / "ko" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    label = status_message("approved", "ko")[0]
    broken_dir = tmp_path / "ko" / "LC_MESSAGES"
    broken_dir.mkdir(parents=True)
    (broken_dir / "messages.po").write_text(
        source.replace(f'msgstr "{label}"', 'msgstr ""'), "utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    with pytest.raises(i18n.CatalogError, match=r"status\.approved\.label has no translation"):
        i18n._load_catalog("ko")
