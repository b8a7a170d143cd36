"""The fee schedule as data, without a database: the shipped file (IDNYC's fees), the San
Francisco example its comments give, and the files it refuses."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from fees.schedule import FeeKind, ScheduleInvalid, parse_schedule, schedule

SHIPPED = resources.files("fees").joinpath("schedule.yaml").read_text("utf-8")
VALID = """
currency: USD
age_bands: [{band: youth, from_age: 0}, {band: adult, from_age: 18}]
fees:
  new_card: {youth: 0, adult: 0}
  replacement: {youth: 500, adult: 1000}
  renewal: {youth: 0, adult: 0}
waiver_reasons: [hardship]
"""


def commented_example(text: str) -> str:
    """The San Francisco schedule the shipped file's comments show, uncommented."""
    lines = [m.group(1) for line in text.splitlines()
             if (m := re.match(r"^#   (.*)$", line))]
    return "\n".join(lines) + "\nwaiver_reasons: [hardship]\n"


def test_the_shipped_schedule_follows_idnyc_first_card_free_replacement_ten_dollars() -> None:
    rules = schedule()
    assert rules.currency == "USD"
    for age in (10, 17, 18, 40, 64, 65, 99):
        assert rules.due(FeeKind.NEW_CARD, age).amount_cents == 0
        assert rules.due(FeeKind.REPLACEMENT, age).amount_cents == 1000
        assert rules.due(FeeKind.RENEWAL, age).amount_cents == 0
    assert "hardship" in rules.waiver_reasons


def test_the_san_francisco_example_in_the_file_prices_by_age_band() -> None:
    sf = parse_schedule(commented_example(SHIPPED))
    assert [sf.due(FeeKind.NEW_CARD, age).band for age in (0, 17, 18, 59, 60)] == [
        "youth", "youth", "adult", "adult", "senior"]
    assert sf.due(FeeKind.NEW_CARD, 30).amount_cents == 1500
    assert sf.due(FeeKind.NEW_CARD, 15).amount_cents == 500
    assert sf.due(FeeKind.REPLACEMENT, 72).amount_cents == 500
    assert sf.due(FeeKind.RENEWAL, 45).amount_cents == 1500


def test_a_changed_file_gets_another_fingerprint() -> None:
    assert parse_schedule(VALID).fingerprint != parse_schedule(
        VALID.replace("adult: 1000", "adult: 1200")).fingerprint


@pytest.mark.parametrize(("change", "message"), [
    (("currency: USD", "currency: dollars"), "currency"),
    (("{band: youth, from_age: 0}", "{band: youth, from_age: 5}"), "age 0"),
    (("{band: adult, from_age: 18}", "{band: adult, from_age: 0}"), "higher age"),
    (("{band: adult, from_age: 18}", "{band: youth, from_age: 18}"), "named twice"),
    (("replacement: {youth: 500, adult: 1000}", "replacement: {youth: 500}"), "replacement"),
    (("replacement: {youth: 500, adult: 1000}", "replacement: {youth: -1, adult: 1000}"),
     "whole cents"),
    (("replacement: {youth: 500, adult: 1000}", "replacement: {youth: 5.5, adult: 1000}"),
     "whole cents"),
    (("  renewal: {youth: 0, adult: 0}\n", ""), "kinds"),
    (("waiver_reasons: [hardship]", "waiver_reasons: [Hardship Case]"), "not a code"),
    (("waiver_reasons: [hardship]", "waiver_reasons: []"), "waiver_reasons"),
])
def test_a_schedule_that_does_not_hold_together_is_refused(change: tuple[str, str],
                                                           message: str) -> None:
    old, new = change
    assert old in VALID
    with pytest.raises(ScheduleInvalid, match=message):
        parse_schedule(VALID.replace(old, new))
