"""The immigration word list matches in every language of the status page, through case,
accents and separators, and leaves ordinary words alone."""

from __future__ import annotations

import pytest

from privacy.terms import holds_immigration_term, immigration_terms


@pytest.mark.parametrize("text", [
    "undocumented", "Illegal Alien", "ICE-detainer", "visa-overstay-check",
    "immigration-status", "immigration_status", "green[card]", "Green Card", "deportation",
    "asylum seeker", "refugee", "citizenship", "I-94",
    "indocumentado", "Deportación", "tarjeta verde", "inmigración",  # es
    "无证移民", "签证逾期", "绿卡",  # zh-Hans
    "депортации", "нелегальный", "виза",  # ru
    "অভিবাসন", "অভিবাসনের", "ভিসা",  # bn
    "san papye", "depòtasyon", "imigrasyon",  # ht
    "불법체류", "비자를", "이민자",  # ko
    "الهجرة", "تأشيرة", "لاجئ",  # ar
])
def test_the_list_matches(text: str) -> None:
    assert holds_immigration_term(text)


@pytest.mark.parametrize("text", [
    "ice skating", "Ice Rink admission", "Centro Deportivo", "Visage salon", "visual arts",
    "Natural History Museum", "Brooklyn Public Library", "визуальный", "소비자 할인",
    "admission", "identity_check", "R-7KQ2M9XW4T", "h_4f0c2d", "Quill", "2026-11-02",
])
def test_ordinary_words_pass(text: str) -> None:
    assert not holds_immigration_term(text)


def test_the_list_covers_the_status_page_languages() -> None:
    assert set(immigration_terms().languages) == {"en", "es", "zh-Hans", "ru", "bn", "ht",
                                                 "ko", "ar"}
