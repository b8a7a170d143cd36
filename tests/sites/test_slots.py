"""Slot generation and release rules, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sites.rules import ReleaseRule, load_rules
from sites.slots import SitePlan, day_slots, release_time, validate_hours

NY = "America/New_York"
FRIDAY_TEN_FOUR_WEEKS = ReleaseRule(weekday="friday", time=time(10, 0), weeks_ahead=4)


def plan(**overrides: object) -> SitePlan:
    values: dict[str, object] = {
        "time_zone": NY, "hours": {d: [["09:00", "12:00"]] for d in
                                   ("monday", "tuesday", "wednesday", "thursday", "friday")},
        "desks": 2, "slot_minutes": 20, "walk_in_percent": 0, "closures": frozenset()}
    return SitePlan(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_morning_of_two_desks_gives_nine_times_two_slots_at_local_wall_clock_times() -> None:
    slots = day_slots(plan(), date(2026, 12, 7), FRIDAY_TEN_FOUR_WEEKS)
    assert len(slots) == 18
    first = slots[0].starts_at.astimezone(ZoneInfo(NY))
    assert (first.hour, first.minute) == (9, 0)
    assert slots[0].starts_at == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # EST is UTC-5
    last = slots[-1].starts_at.astimezone(ZoneInfo(NY))
    assert (last.hour, last.minute) == (11, 40)
    assert {s.desk for s in slots} == {0, 1}


def test_a_closed_day_and_a_weekend_give_no_slots() -> None:
    closed = plan(closures=frozenset({date(2026, 12, 25)}))
    assert day_slots(closed, date(2026, 12, 25), FRIDAY_TEN_FOUR_WEEKS) == []
    assert day_slots(closed, date(2026, 12, 24), FRIDAY_TEN_FOUR_WEEKS) != []
    assert day_slots(plan(), date(2026, 12, 26), FRIDAY_TEN_FOUR_WEEKS) == []  # a Saturday


def test_a_pop_up_site_has_slots_only_within_its_dates() -> None:
    popup = plan(opens_on=date(2026, 12, 8), closes_on=date(2026, 12, 9))
    days = {d: bool(day_slots(popup, date(2026, 12, d), FRIDAY_TEN_FOUR_WEEKS))
            for d in (7, 8, 9, 10)}
    assert days == {7: False, 8: True, 9: True, 10: False}


def test_the_same_local_opening_is_a_different_utc_time_across_a_daylight_saving_change() -> None:
    # New York leaves daylight saving time on Sunday 1 November 2026.
    before = day_slots(plan(), date(2026, 10, 30), FRIDAY_TEN_FOUR_WEEKS)[0].starts_at
    after = day_slots(plan(), date(2026, 11, 2), FRIDAY_TEN_FOUR_WEEKS)[0].starts_at
    assert before == datetime(2026, 10, 30, 13, 0, tzinfo=UTC)  # EDT, UTC-4
    assert after == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # EST, UTC-5


def test_the_spring_forward_gap_makes_no_slot_and_the_fall_back_hour_makes_each_once() -> None:
    night = plan(hours={"sunday": [["01:00", "04:00"]]}, desks=1, slot_minutes=30)
    spring = day_slots(night, date(2026, 3, 8), FRIDAY_TEN_FOUR_WEEKS)  # 02:00 -> 03:00
    local = [s.starts_at.astimezone(ZoneInfo(NY)).strftime("%H:%M") for s in spring]
    assert local == ["01:00", "01:30", "03:00", "03:30"]
    fall = day_slots(night, date(2026, 11, 1), FRIDAY_TEN_FOUR_WEEKS)  # 01:00-02:00 twice
    starts = [s.starts_at for s in fall]
    assert len(starts) == len(set(starts)) == 6
    assert all(s.ends_at > s.starts_at for s in fall)


def test_another_time_zone_gives_its_own_utc_times() -> None:
    tokyo = day_slots(plan(time_zone="Asia/Tokyo"), date(2026, 12, 7), FRIDAY_TEN_FOUR_WEEKS)
    assert tokyo[0].starts_at == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # JST is UTC+9


def test_a_week_is_released_on_the_friday_four_weeks_before_at_ten_local() -> None:
    zone = ZoneInfo(NY)
    # Monday 28 December 2026 and Sunday 3 January 2027 are in the same week.
    for day in (date(2026, 12, 28), date(2027, 1, 3)):
        released = release_time(day, zone, FRIDAY_TEN_FOUR_WEEKS)
        assert released == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 EST
    # Across the change to summer time: 10:00 EDT.
    assert release_time(date(2026, 4, 6), zone, FRIDAY_TEN_FOUR_WEEKS) == \
        datetime(2026, 3, 13, 14, 0, tzinfo=UTC)


def test_a_walk_in_share_holds_back_that_share_of_the_day_spread_through_it() -> None:
    slots = day_slots(plan(walk_in_percent=25), date(2026, 12, 7), FRIDAY_TEN_FOUR_WEEKS)
    held = [s for s in slots if s.walk_in]
    assert len(held) == 4  # a quarter of 18, rounded down
    assert held[0].starts_at < held[-1].starts_at


def test_opening_hours_that_overlap_or_end_before_they_start_are_refused() -> None:
    assert validate_hours({"monday": [["09:00", "12:00"]]}, 20) is None
    assert validate_hours({"monday": [["12:00", "09:00"]]}, 20) is not None
    assert validate_hours({"monday": [["09:00", "12:00"], ["11:00", "13:00"]]}, 20) is not None
    assert validate_hours({"funday": [["09:00", "12:00"]]}, 20) is not None
    assert validate_hours({"monday": [["09:00", "09:10"]]}, 20) is not None


def test_the_default_release_rule_is_friday_at_ten_four_weeks_ahead() -> None:
    assert load_rules().release == FRIDAY_TEN_FOUR_WEEKS
