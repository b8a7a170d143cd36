"""A card's lifecycle actions: revoke, suspend, unsuspend, replace, renew.

What each action may do is decided by ``idcard.lifecycle`` from the card's state and the table in
``lifecycle.yaml``; here the card is loaded and locked, the decision applied and audited, and the
status list rebuilt.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session

from enrollment import service as enrollment
from enrollment.service import age_on
from fees.schedule import FeeKind
from idcard import repository
from idcard.lifecycle import (
    Action,
    CardState,
    Change,
    add_years,
    lifecycle,
    renewal,
    replacement,
    status_change,
)
from idcard.models import Card
from idcard.schemas import CardOut
from idcard.service import (
    CardDesk,
    card_number_of,
    card_out,
    card_pseudonym,
    load_card,
    new_card,
    rebuild_status_list,
)
from privacy import audit
from privacy.audit import Actor


def state_of(card: Card) -> CardState:
    return CardState(status=card.status, status_reason=card.status_reason,
                     issue_number=card.issue_number, expires_on=card.expires_on)


def _apply(session: Session, desk: CardDesk, actor: Actor, card: Card, change: Change) -> None:
    card.status, card.status_reason = change.status, change.reason
    card.status_changed_at = desk.clock.now()
    session.flush()
    audit.record(session, actor=actor, action=f"card.{change.audit}",
                 subject=card_pseudonym(desk, card.id), purpose=change.reason, clock=desk.clock)
    rebuild_status_list(session, desk=desk)


def _change_status(session: Session, desk: CardDesk, actor: Actor, action: Action,
                   card_id: uuid.UUID, reason: str) -> CardOut:
    rules = lifecycle()
    rules.check_reason(action, reason, actor.role)
    card = load_card(session, card_id, for_update=True)
    _apply(session, desk, actor, card, status_change(rules, action, state_of(card), reason))
    return card_out(session, desk, card)


def revoke(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
           reason: str) -> CardOut:
    return _change_status(session, desk, actor, "revoke", card_id, reason)


def suspend(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
            reason: str) -> CardOut:
    return _change_status(session, desk, actor, "suspend", card_id, reason)


def unsuspend(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
              reason: str) -> CardOut:
    return _change_status(session, desk, actor, "unsuspend", card_id, reason)


def _supersede(session: Session, desk: CardDesk, actor: Actor, old: Card, change: Change, *,
               valid_from: date, expires_on: date, fee_kind: FeeKind) -> Card:
    holder = enrollment.read_holder(session, vault=desk.vault, resident_id=old.resident_id)
    new = new_card(session, desk, actor, holder=holder,
                   card_number=card_number_of(session, desk, old),
                   issue_number=old.issue_number + 1, valid_from=valid_from,
                   expires_on=expires_on, application_id=old.application_id, replaces=old,
                   fee_kind=fee_kind)
    # An earlier issue already revoked (lost, say) keeps its own reason.
    if change.alters(state_of(old)):
        _apply(session, desk, actor, old, change)
    return new


def replace(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
            reason: str) -> CardOut:
    """A new issue of the same card, same expiry; the old issue is revoked everywhere."""
    rules = lifecycle()
    rules.check_reason("replace", reason, actor.role)
    old = load_card(session, card_id, for_update=True)
    today = desk.clock.today()
    change = replacement(rules, state_of(old), reason=reason, today=today,
                         latest_issue=repository.latest_issue(session, old.card_number_index))
    new = _supersede(session, desk, actor, old, change, valid_from=today,
                     expires_on=old.expires_on, fee_kind=FeeKind.REPLACEMENT)
    return card_out(session, desk, new)


def renew(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
          reason: str = "expiring") -> CardOut:
    rules = lifecycle()
    rules.check_reason("renew", reason, actor.role)
    old = load_card(session, card_id, for_update=True)
    today = desk.clock.today()
    change = renewal(rules, state_of(old), reason=reason, today=today,
                     latest_issue=repository.latest_issue(session, old.card_number_index))
    holder = enrollment.read_holder(session, vault=desk.vault, resident_id=old.resident_id)
    years = desk.enrollment.rulebook.card_validity_years(age_on(holder.date_of_birth, today))
    new = _supersede(session, desk, actor, old, change, valid_from=today,
                     expires_on=add_years(today, years), fee_kind=FeeKind.RENEWAL)
    return card_out(session, desk, new)


# Read and checked when the program loads: a table that does not hold together stops it at
# start, not at the first revocation.
lifecycle()
