"""A benefit's limits (redemption/limits.py, redemption/benefits.py) against an in-memory ledger:
once per holder, once per period, N per period, rolling windows, voids, and the city's time
zone deciding which period a redemption falls in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from redemption import benefits as catalogue
from redemption.benefits import Period
from redemption.errors import AlreadyRedeemed
from redemption.limits import admit
from redemption.models import Benefit, Redemption

ZONE = ZoneInfo("America/New_York")
HOLDER, OTHER = uuid.uuid4(), uuid.uuid4()


class InMemoryLedger:
    """The ledger's rows in a list, counted the way the repository's query counts them."""

    def __init__(self) -> None:
        self.rows: list[Redemption] = []

    def counted(self, benefit: Benefit, resident_id: uuid.UUID,
                period: Period) -> list[Redemption]:
        return sorted((r for r in self.rows
                       if r.benefit_id == benefit.id and r.resident_id == resident_id
                       and r.voided_at is None
                       and (r.redeemed_at > period.since if period.since is not None
                            else r.period_key == period.key)),
                      key=lambda r: r.redeemed_at)

    def redeem(self, benefit: Benefit, resident_id: uuid.UUID, at: datetime) -> Redemption:
        period = admit(self, benefit, resident_id, now=at, zone=ZONE)
        row = Redemption(id=uuid.uuid4(), benefit_id=benefit.id, resident_id=resident_id,
                         period_key=period.key, redeemed_at=at, voided_at=None)
        self.rows.append(row)
        return row


def benefit(period: str, count: int = 1, *, days: int | None = None,
            category: str = "discount") -> Benefit:
    return Benefit(id=uuid.uuid4(), partner_id=uuid.uuid4(), name="Free entry",
                   category=category, limit_count=count, limit_period=period, limit_days=days,
                   membership_days=days if category == "membership" else None,
                   active_from=date(2026, 1, 1), active_until=date(2026, 12, 31))


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def ledger() -> InMemoryLedger:
    return InMemoryLedger()


def test_once_per_month_refuses_a_second_redemption_that_month(ledger: InMemoryLedger) -> None:
    monthly = benefit("calendar_month")
    ledger.redeem(monthly, HOLDER, at("2026-03-02"))
    with pytest.raises(AlreadyRedeemed) as refused:
        ledger.redeem(monthly, HOLDER, at("2026-03-30"))
    assert refused.value.detail == "Already redeemed on 2026-03-02."
    ledger.redeem(monthly, HOLDER, at("2026-04-01"))


def test_one_holders_redemption_does_not_use_up_anothers(ledger: InMemoryLedger) -> None:
    monthly = benefit("calendar_month")
    ledger.redeem(monthly, HOLDER, at("2026-03-02"))
    ledger.redeem(monthly, OTHER, at("2026-03-02"))


def test_the_period_is_the_citys_local_one(ledger: InMemoryLedger) -> None:
    monthly = benefit("calendar_month")
    # 23:30 on 31 March in New York is already April in UTC: it counts in March.
    late = at("2026-03-31", 23) + timedelta(minutes=30)
    assert late.month == 4
    assert ledger.redeem(monthly, HOLDER, late).period_key == "2026-03"
    ledger.redeem(monthly, HOLDER, at("2026-04-01"))
    with pytest.raises(AlreadyRedeemed):
        ledger.redeem(monthly, HOLDER, at("2026-03-31", 9))


def test_n_per_period_allows_exactly_n(ledger: InMemoryLedger) -> None:
    three_a_year = benefit("calendar_year", 3)
    for day in ("2026-01-05", "2026-05-05", "2026-09-05"):
        ledger.redeem(three_a_year, HOLDER, at(day))
    with pytest.raises(AlreadyRedeemed) as refused:
        ledger.redeem(three_a_year, HOLDER, at("2026-12-30"))
    assert refused.value.detail == "Already redeemed on 2026-09-05."


def test_a_voided_redemption_does_not_count(ledger: InMemoryLedger) -> None:
    monthly = benefit("calendar_month")
    first = ledger.redeem(monthly, HOLDER, at("2026-03-02"))
    first.voided_at = at("2026-03-02", 13)
    ledger.redeem(monthly, HOLDER, at("2026-03-03"))


def test_lifetime_means_once_ever(ledger: InMemoryLedger) -> None:
    once = benefit("lifetime")
    ledger.redeem(once, HOLDER, at("2026-01-02"))
    with pytest.raises(AlreadyRedeemed):
        ledger.redeem(once, HOLDER, at("2026-12-30"))
    assert catalogue.next_available(once, ledger.counted(once, HOLDER, Period("life")),
                                    at("2026-12-30"), ZONE) is None


def test_a_rolling_window_frees_up_when_the_oldest_redemption_leaves_it(
        ledger: InMemoryLedger) -> None:
    two_per_30_days = benefit("rolling_days", 2, days=30)
    ledger.redeem(two_per_30_days, HOLDER, at("2026-03-01"))
    ledger.redeem(two_per_30_days, HOLDER, at("2026-03-10"))
    now = at("2026-03-20")
    live = ledger.counted(two_per_30_days, HOLDER, catalogue.period_at(two_per_30_days, now,
                                                                       ZONE))
    assert catalogue.next_available(two_per_30_days, live, now, ZONE) == date(2026, 3, 31)
    with pytest.raises(AlreadyRedeemed):
        ledger.redeem(two_per_30_days, HOLDER, at("2026-03-31", 11))
    ledger.redeem(two_per_30_days, HOLDER, at("2026-03-31", 13))


@pytest.mark.parametrize(("period", "day", "next_day"), [
    ("calendar_month", "2026-03-15", date(2026, 4, 1)),
    ("calendar_month", "2026-12-15", date(2027, 1, 1)),
    ("calendar_year", "2026-03-15", date(2027, 1, 1)),
])
def test_a_used_up_calendar_limit_is_next_available_at_the_next_period(
        ledger: InMemoryLedger, period: str, day: str, next_day: date) -> None:
    limited = benefit(period)
    ledger.redeem(limited, HOLDER, at(day))
    live = ledger.counted(limited, HOLDER, catalogue.period_at(limited, at(day), ZONE))
    assert catalogue.next_available(limited, live, at(day), ZONE) == next_day


def test_a_limit_with_room_left_is_available_now(ledger: InMemoryLedger) -> None:
    twice = benefit("calendar_month", 2)
    ledger.redeem(twice, HOLDER, at("2026-03-02"))
    live = ledger.counted(twice, HOLDER, Period("2026-03"))
    assert catalogue.next_available(twice, live, at("2026-03-03"), ZONE) is None


def test_a_membership_lasts_its_length_from_its_first_use(ledger: InMemoryLedger) -> None:
    membership = benefit("rolling_days", 1, days=365, category="membership")
    first = ledger.redeem(membership, HOLDER, at("2026-02-10"))
    assert catalogue.member_until(membership, [first], ZONE) == date(2027, 2, 10)
    with pytest.raises(AlreadyRedeemed):
        ledger.redeem(membership, HOLDER, at("2026-11-10"))
    assert catalogue.member_until(benefit("calendar_month"), [first], ZONE) is None


def test_a_benefit_is_active_on_the_days_of_its_window() -> None:
    season = benefit("calendar_month")
    assert catalogue.active_on(season, date(2026, 1, 1))
    assert catalogue.active_on(season, date(2026, 12, 31))
    assert not catalogue.active_on(season, date(2027, 1, 1))
