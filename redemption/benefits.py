"""The benefit catalogue, limits as data, and a holder's state for each benefit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cityid.clock import Clock
from partners import repository as partner_repository
from partners.errors import PartnerNotFound
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms
from redemption import repository
from redemption.errors import BenefitLimitUnsupported, BenefitNotFound, BenefitWindowInvalid
from redemption.models import Benefit, Redemption
from redemption.schemas import (
    BenefitCreate,
    BenefitOut,
    BenefitUpdate,
    HolderBenefitState,
    Limit,
)

DEFAULT_MEMBERSHIP_DAYS = 365

# The limits each category can be given, as data. A membership is redeemed once and then lasts
# its length (membership_days) from that first use, after which it can be renewed: its length
# is its limit, so a limit sent with it (say "lifetime") could only be rewritten, and is refused.
LIMIT_PERIODS_BY_CATEGORY: dict[str, frozenset[str]] = {
    "membership": frozenset(),
    "discount": frozenset({"lifetime", "calendar_year", "calendar_month", "rolling_days"}),
    "service": frozenset({"lifetime", "calendar_year", "calendar_month", "rolling_days"}),
}


@dataclass(frozen=True)
class Period:
    """Which redemptions count against a limit at a moment: a named calendar period, or the
    rolling window since a moment."""

    key: str
    since: datetime | None = None


def limit_of(benefit: Benefit) -> Limit:
    return Limit(count=benefit.limit_count, period=benefit.limit_period,
                 days=benefit.limit_days)


def period_at(benefit: Benefit, at: datetime, zone: ZoneInfo) -> Period:
    local = at.astimezone(zone)
    match benefit.limit_period:
        case "lifetime":
            return Period("life")
        case "calendar_year":
            return Period(f"{local.year}")
        case "calendar_month":
            return Period(f"{local:%Y-%m}")
        case "rolling_days":
            return Period("rolling", at - timedelta(days=benefit.limit_days or 0))
    raise ValueError(f"unknown limit period {benefit.limit_period!r}")


def counted(session: Session, benefit: Benefit, resident_id: uuid.UUID,
            period: Period) -> list[Redemption]:
    if period.since is not None:
        return list(repository.live_redemptions(session, benefit.id, resident_id,
                                                since=period.since))
    return list(repository.live_redemptions(session, benefit.id, resident_id,
                                            period_key=period.key))


def active_on(benefit: Benefit, day: date) -> bool:
    return benefit.active_from <= day <= benefit.active_until


def out(benefit: Benefit) -> BenefitOut:
    return BenefitOut(id=benefit.id, partner_id=benefit.partner_id, name=benefit.name,
                      category=benefit.category, limit=limit_of(benefit),
                      membership_days=benefit.membership_days, active_from=benefit.active_from,
                      active_until=benefit.active_until)


def member_until(benefit: Benefit, live: list[Redemption], zone: ZoneInfo) -> date | None:
    """A membership is active for its length from its first redemption in the window."""
    if benefit.category != "membership" or not live:
        return None
    first = min(r.redeemed_at for r in live)
    return (first + timedelta(days=benefit.membership_days or DEFAULT_MEMBERSHIP_DAYS)) \
        .astimezone(zone).date()


def _check_limit(data: BenefitCreate) -> None:
    if data.limit is None or data.limit.period in LIMIT_PERIODS_BY_CATEGORY[data.category]:
        return
    if data.category == "membership":
        raise BenefitLimitUnsupported(
            f"A membership cannot take a {data.limit.period!r} limit: it lasts membership_days "
            f"({DEFAULT_MEMBERSHIP_DAYS} unless given) from its first use and can then be "
            "renewed, so its length is its limit. Send membership_days without a limit, or "
            "make it a service or discount with the limit you want.")
    raise BenefitLimitUnsupported(
        f"A {data.category} cannot take a {data.limit.period!r} limit.")


def next_available(benefit: Benefit, live: list[Redemption], at: datetime,
                   zone: ZoneInfo) -> date | None:
    """The first day a used-up limit lets the holder redeem again: the next calendar period, or
    the day the oldest counted redemption leaves the rolling window. Never, for a lifetime one."""
    if len(live) < benefit.limit_count:
        return None
    local = at.astimezone(zone).date()
    match benefit.limit_period:
        case "calendar_year":
            return date(local.year + 1, 1, 1)
        case "calendar_month":
            return date(local.year + local.month // 12, local.month % 12 + 1, 1)
        case "rolling_days":
            oldest = sorted(r.redeemed_at for r in live)[len(live) - benefit.limit_count]
            return (oldest + timedelta(days=benefit.limit_days or 0)).astimezone(zone).date()
    return None


def create_benefit(session: Session, *, actor: Actor, clock: Clock,
                   data: BenefitCreate) -> BenefitOut:
    if partner_repository.get_partner(session, data.partner_id) is None:
        raise PartnerNotFound()
    # Program data, in the clear: a benefit named for immigration status would make every
    # redemption of it a statement about the holder.
    refuse_immigration_terms("name", data.name)
    _check_limit(data)
    if data.category == "membership":
        # A membership is redeemed once and then lasts its length: the limit is the length.
        days = data.membership_days or DEFAULT_MEMBERSHIP_DAYS
        limit = Limit(count=1, period="rolling_days", days=days)
    else:
        assert data.limit is not None
        days, limit = 0, data.limit
    benefit = Benefit(id=uuid.uuid4(), partner_id=data.partner_id, name=data.name,
                      category=data.category, limit_count=limit.count,
                      limit_period=limit.period, limit_days=limit.days,
                      membership_days=days or None, active_from=data.active_from,
                      active_until=data.active_until, created_at=clock.now())
    repository.add(session, benefit)
    audit.record(session, actor=actor, action="benefit.created", subject=f"benefit:{benefit.id}",
                 clock=clock, detail={"partner": str(data.partner_id),
                                      "category": data.category})
    return out(benefit)


def update_benefit(session: Session, *, actor: Actor, clock: Clock, benefit_id: uuid.UUID,
                   data: BenefitUpdate) -> BenefitOut:
    benefit = repository.get_benefit(session, benefit_id)
    if benefit is None:
        raise BenefitNotFound()
    if data.name is not None:
        refuse_immigration_terms("name", data.name)
        benefit.name = data.name
    if data.active_from is not None:
        benefit.active_from = data.active_from
    if data.active_until is not None:
        benefit.active_until = data.active_until
    if benefit.active_until < benefit.active_from:
        raise BenefitWindowInvalid()
    session.flush()
    audit.record(session, actor=actor, action="benefit.updated", subject=f"benefit:{benefit.id}",
                 clock=clock)
    return out(benefit)


def list_benefits(session: Session, *, partner_id: uuid.UUID | None) -> list[BenefitOut]:
    return [out(b) for b in repository.benefits_of(session, partner_id)]


def holder_states(session: Session, *, partner_id: uuid.UUID, resident_id: uuid.UUID | None,
                  now: datetime, zone: ZoneInfo) -> list[HolderBenefitState]:
    """The partner's own benefits; with a holder, whether each is available to them now."""
    today = now.astimezone(zone).date()
    states = []
    for benefit in repository.benefits_of(session, partner_id):
        live: list[Redemption] = []
        if resident_id is not None:
            live = counted(session, benefit, resident_id, period_at(benefit, now, zone))
        states.append(HolderBenefitState(
            benefit=out(benefit), active_today=active_on(benefit, today),
            available=active_on(benefit, today) and len(live) < benefit.limit_count,
            used_in_period=len(live),
            last_redeemed_on=max(r.redeemed_at for r in live).astimezone(zone).date()
            if live else None,
            member_until=member_until(benefit, live, zone),
            next_available_on=next_available(benefit, live, now, zone)))
    return states
