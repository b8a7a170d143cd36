"""What a holder can do with a valid holder session: see their card and its history, lock it
at once when it is lost, ask for a replacement or a renewal, change how they are reached, and
choose their notices. Each is audited with codes; each acts only on the session's card."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from enrollment import repository as enrollment_repository
from enrollment.residents import RESIDENTS
from holder import i18n
from holder.codes import ASKING, HolderContext, HolderDesk, check_code, issue_code, subject_of
from holder.errors import (
    CodeNotAccepted,
    ContactInvalid,
    HolderSessionRequired,
    NoContactOfThatKind,
)
from holder.schemas import (
    EMAIL_PATTERN,
    PHONE_PATTERN,
    Channel,
    ContactCodeOut,
    HolderCardOut,
    HolderOverview,
)
from idcard import actions as card_actions
from idcard import repository as card_repository
from idcard import service as cards
from idcard.errors import IllegalCardTransition
from idcard.lifecycle import lifecycle
from idcard.models import Card
from notifications import service as notices
from privacy import audit
from redemption import history
from redemption.schemas import HolderEvent

LOST = "reported_lost"
COLUMNS: dict[Channel, str] = {"email": "email", "sms": "phone"}


def _card(session: Session, context: HolderContext, *, for_update: bool = False) -> Card:
    issues = card_repository.by_number(session, context.number_index)
    if not issues:
        raise HolderSessionRequired()  # the card was purged under the session
    if for_update:
        locked = card_repository.get(session, issues[0].id, for_update=True)
        assert locked is not None
        return locked
    return issues[0]


def _mask(channel: Channel, value: str | None) -> str | None:
    if not value:
        return None
    if channel == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}•••@{domain}"
    digits = [c for c in value if c.isdigit()]
    return "•••" + "".join(digits[-2:])


def _card_out(desk: HolderDesk, session: Session, card: Card) -> HolderCardOut:
    today = desk.cards.clock.today()
    opens, closes = lifecycle().renewal_window(card.expires_on)
    state = cards.effective_status(card, today)
    number = cards.card_number_of(session, desk.cards, card)
    return HolderCardOut(
        issue_number=card.issue_number, status=state, status_reason=card.status_reason,
        expires_on=card.expires_on, number_ends_with=number[-4:], renewal_opens_on=opens,
        renewal_closes_on=closes, fulfilment=card.fulfilment,
        can_renew=opens <= today <= closes and state != "revoked")


def overview(session: Session, *, desk: HolderDesk, context: HolderContext) -> HolderOverview:
    resident = enrollment_repository.get_resident(session, context.resident_id)
    assert resident is not None
    person = desk.cards.vault.open_data_key(session, resident.id).record(RESIDENTS, resident.id)
    return HolderOverview(
        card=_card_out(desk, session, _card(session, context)),
        email=_mask("email", person.open_text("email", resident.email_enc)),
        phone=_mask("sms", person.open_text("phone", resident.phone_enc)),
        notifications=notices.choices(session, context.resident_id),
        session_expires_at=context.expires_at)


def _audit(session: Session, desk: HolderDesk, context: HolderContext, action: str,
           detail: dict[str, str | int | bool] | None = None) -> None:
    audit.record(session, actor=ASKING, action=action, clock=desk.cards.clock,
                 subject=subject_of(desk, context.resident_id), detail=detail)


def card_history(session: Session, *, desk: HolderDesk,
                 context: HolderContext) -> list[HolderEvent]:
    events = history.events_for(session, vault=desk.cards.vault,
                                resident_id=context.resident_id)
    _audit(session, desk, context, "holder.history_viewed", {"count": len(events)})
    return events


def lock_card(session: Session, *, desk: HolderDesk, context: HolderContext) -> HolderOverview:
    """Suspend the card at once (reason ``reported_lost``): verification refuses it from this
    commit, and the status list is rebuilt in the same transaction. Locking a card already
    locked as lost is no error: a worried holder may press twice."""
    card = _card(session, context, for_update=True)
    if not (card.status == "suspended" and card.status_reason == LOST):
        card_actions.suspend(session, desk=desk.cards, actor=ASKING, card_id=card.id, reason=LOST)
    _audit(session, desk, context, "holder.card_locked")
    return overview(session, desk=desk, context=context)


def request_replacement(session: Session, *, desk: HolderDesk,
                        context: HolderContext) -> HolderOverview:
    """A new issue of the card, queued for printing; the lost one is revoked everywhere. Only a
    card the holder locked as lost is replaced here; a damaged card is replaced at a centre."""
    card = _card(session, context, for_update=True)
    if not (card.status == "suspended" and card.status_reason == LOST):
        raise IllegalCardTransition("Lock the card as lost first; then ask for a replacement.")
    card_actions.replace(session, desk=desk.cards, actor=ASKING, card_id=card.id, reason="lost")
    _audit(session, desk, context, "holder.replacement_requested")
    return overview(session, desk=desk, context=context)


def request_renewal(session: Session, *, desk: HolderDesk,
                    context: HolderContext) -> HolderOverview:
    card = _card(session, context, for_update=True)
    card_actions.renew(session, desk=desk.cards, actor=ASKING, card_id=card.id, reason="expiring")
    _audit(session, desk, context, "holder.renewal_requested")
    return overview(session, desk=desk, context=context)


def start_contact_change(session: Session, *, desk: HolderDesk, context: HolderContext,
                         channel: Channel, value: str, lang: str) -> ContactCodeOut:
    """A code goes to the new contact first; the contact changes when it comes back."""
    if not re.fullmatch(EMAIL_PATTERN if channel == "email" else PHONE_PATTERN, value):
        raise ContactInvalid()
    code, row = issue_code(session, desk, resident_id=context.resident_id,
                        number_index=context.number_index, purpose=channel)
    sealed = desk.cards.vault.open_data_key(session, context.resident_id).record(
        "holder_codes", row.id)
    row.new_contact_enc = sealed.seal_text("new_contact", value)
    notices.enqueue_code(session, desk=desk.notices, resident_id=context.resident_id,
                         kind="contact_code", code=code, minutes=desk.code_minutes,
                         channel=channel, recipient=value)
    _audit(session, desk, context, "holder.contact_change_started", {"channel": channel})
    return ContactCodeOut(detail=i18n.message("contact_code_sent", lang,
                                              minutes=desk.code_minutes), channel=channel)


def confirm_contact_change(session: Session, *, desk: HolderDesk, context: HolderContext,
                           channel: Channel, code: str,
                           lang: str) -> HolderOverview | CodeNotAccepted:
    row = check_code(session, desk, number_index=context.number_index, purpose=channel,
                     code=code)
    if row is None or row.new_contact_enc is None:
        _audit(session, desk, context, "holder.code_refused", {"reason": "code_not_accepted"})
        return CodeNotAccepted(i18n.message("code_not_accepted", lang))
    key = desk.cards.vault.open_data_key(session, context.resident_id)
    value = key.record("holder_codes", row.id).open_text("new_contact", row.new_contact_enc)
    row.new_contact_enc = None  # confirmed: the code row keeps no copy
    resident = enrollment_repository.get_resident(session, context.resident_id)
    assert resident is not None
    setattr(resident, f"{COLUMNS[channel]}_enc",
            key.record(RESIDENTS, resident.id).seal_text(COLUMNS[channel], value))
    session.flush()
    _audit(session, desk, context, "holder.contact_changed", {"channel": channel})
    return overview(session, desk=desk, context=context)


def remove_contact(session: Session, *, desk: HolderDesk, context: HolderContext,
                   channel: Channel) -> HolderOverview:
    resident = enrollment_repository.get_resident(session, context.resident_id)
    assert resident is not None
    if getattr(resident, f"{COLUMNS[channel]}_enc") is None:
        raise NoContactOfThatKind()
    setattr(resident, f"{COLUMNS[channel]}_enc", None)
    session.flush()
    _audit(session, desk, context, "holder.contact_removed", {"channel": channel})
    return overview(session, desk=desk, context=context)


def set_notice_choice(session: Session, *, desk: HolderDesk, context: HolderContext,
                      kind: str, opted_in: bool) -> HolderOverview:
    notices.set_choice(session, desk=desk.notices, resident_id=context.resident_id, kind=kind,
                       opted_in=opted_in)
    _audit(session, desk, context, "holder.notice_choice", {"kind": kind, "opted_in": opted_in})
    return overview(session, desk=desk, context=context)
