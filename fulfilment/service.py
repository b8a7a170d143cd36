"""Card fulfilment: the print queue of each site, print batches, mailing, returns, pickup at the
counter and a card reported not received.

The state is the card's ``fulfilment`` column; the steps and their rules are data (rules.yaml).
A card that is revoked, suspended or expired is never printed nor handed over: printing and
pickup check the card's own status at the moment they happen, not when it was queued.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fulfilment import repository
from fulfilment.errors import (
    BatchAlreadyPrinted,
    BatchNotFound,
    CardNotActive,
    IllegalFulfilmentStep,
    NothingToPrint,
    PickupOnly,
    UnknownIdentityCheck,
)
from fulfilment.models import CardFulfilment, PrintBatch
from fulfilment.schemas import BatchOut, FulfilmentOut
from fulfilment.states import FulfilmentState, Rules, Step, next_state, rules
from idcard import render
from idcard import service as card_service
from idcard.errors import CardNotFound
from idcard.models import Card
from idcard.service import CardDesk
from notifications import service as notices
from notifications.service import NoticeDesk
from privacy import audit
from privacy.audit import Actor
from privacy.terms import refuse_immigration_terms


@dataclass(frozen=True)
class FulfilmentDesk:
    cards: CardDesk
    rules: Rules

    @classmethod
    def of(cls, cards: CardDesk) -> FulfilmentDesk:
        return cls(cards=cards, rules=rules())


# The audit action of each step (listed in privacy/audit_details.yaml).
ACTIONS = {
    Step.PRINT: "card.printed", Step.MAIL: "card.mailed", Step.MAKE_READY: "card.made_ready",
    Step.RETURN_UNDELIVERABLE: "card.returned_undeliverable", Step.PICK_UP: "card.picked_up",
    Step.REPORT_NOT_RECEIVED: "card.not_received",
}
# What the holder is told about, once notifications exist.
NOTICE_OF = {Step.MAIL: "card_mailed", Step.MAKE_READY: "card_ready",
             Step.RETURN_UNDELIVERABLE: "card_ready"}
NOTIFIED = frozenset(NOTICE_OF)


def notify_holder(session: Session, *, desk: FulfilmentDesk, card: Card, step: Step) -> None:
    """"Card mailed" and "card ready for pickup" go to the holder through the outbox, in the
    same transaction as the step (only if they opted in and have a contact; once per card and
    kind, so a retried step sends nothing twice). A returned card waits at the counter."""
    kind = NOTICE_OF[step]
    notices.enqueue(session, kind, card, desk=NoticeDesk(desk.cards.vault, desk.cards.clock))


def _pseudonym(desk: FulfilmentDesk, card_id: uuid.UUID) -> str:
    return desk.cards.vault.pseudonym("card", card_id)


def _card(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> Card:
    card = repository.card(session, card_id, for_update=for_update)
    if card is None:
        raise CardNotFound()
    return card


def _is_active(desk: FulfilmentDesk, card: Card) -> bool:
    return card_service.effective_status(card, desk.cards.clock.today()) == "active"


def _record(session: Session, desk: FulfilmentDesk, card: Card, *,
            for_update: bool = False) -> CardFulfilment:
    """The card's fulfilment record, made on first use: a card is queued when it is issued."""
    record = repository.record_of(session, card.id, for_update=for_update)
    if record is None:
        record = CardFulfilment(card_id=card.id, site_code=desk.rules.default_site,
                                queued_at=card.issued_at, updated_at=desk.cards.clock.now())
        repository.add(session, record)
    return record


def _delivery(session: Session, card: Card) -> str:
    # A card with no application (seeded) is collected, like one with no address.
    return repository.delivery_of(session, card.application_id) or "pickup"


def _possible(desk: FulfilmentDesk, card: Card, delivery: str) -> list[str]:
    out = []
    for step, rule in desk.rules.steps.items():
        if step is Step.PRINT:  # printing is by batch, never one card from the desk
            continue
        if next_state(card.fulfilment, step, rule_set=desk.rules) is None:
            continue
        if rule.active_card and not _is_active(desk, card):
            continue
        if rule.delivery is not None and rule.delivery != delivery:
            continue
        out.append(step.value)
    return out


def _out(session: Session, desk: FulfilmentDesk, card: Card,
         record: CardFulfilment) -> FulfilmentOut:
    delivery = _delivery(session, card)
    return FulfilmentOut(
        card_id=card.id, state=card.fulfilment,
        card_status=card_service.effective_status(card, desk.cards.clock.today()),
        delivery=delivery, site_code=record.site_code, batch_id=record.batch_id,
        queued_at=record.queued_at, printed_at=record.printed_at, mailed_at=record.mailed_at,
        returned_at=record.returned_at, ready_at=record.ready_at,
        picked_up_at=record.picked_up_at, not_received_at=record.not_received_at,
        next_steps=_possible(desk, card, delivery))


def fulfilment_of(session: Session, *, desk: FulfilmentDesk, actor: Actor,
                  card_id: uuid.UUID) -> FulfilmentOut:
    card = _card(session, card_id)
    return _out(session, desk, card, _record(session, desk, card))


def assign_site(session: Session, *, desk: FulfilmentDesk, actor: Actor, card_id: uuid.UUID,
                site_code: str) -> FulfilmentOut:
    """Queue a card at another site's printer, or have it collected there; only while it is
    still waiting to be printed and in no batch."""
    # Until sites exist a site code is typed by the clerk and kept in the clear.
    refuse_immigration_terms("site_code", site_code)
    card = _card(session, card_id, for_update=True)
    record = _record(session, desk, card, for_update=True)
    if card.fulfilment != FulfilmentState.TO_PRINT or record.batch_id is not None:
        raise IllegalFulfilmentStep("Only a card still waiting to be printed changes site.")
    record.site_code, record.updated_at = site_code, desk.cards.clock.now()
    audit.record(session, actor=actor, action="fulfilment.site_assigned",
                 subject=_pseudonym(desk, card.id), clock=desk.cards.clock,
                 detail={"site": site_code})
    return _out(session, desk, card, record)


# --- printing in batches --------------------------------------------------------------------


def _batch_out(session: Session, batch: PrintBatch) -> BatchOut:
    return BatchOut(id=batch.id, site_code=batch.site_code, card_count=batch.card_count,
                    card_ids=[c.id for c, _ in repository.cards_of_batch(session, batch.id)],
                    created_at=batch.created_at, printed_at=batch.printed_at)


def create_batch(session: Session, *, desk: FulfilmentDesk, actor: Actor, site_code: str,
                 limit: int) -> BatchOut:
    """Take up to ``limit`` of the site's waiting cards, oldest first, into one batch. The
    cards are row-locked, so two clerks starting a batch at once can't both take a card."""
    refuse_immigration_terms("site_code", site_code)
    today = desk.cards.clock.today()
    cards = repository.cards_to_print(session, site_code=site_code,
                                      default_site=desk.rules.default_site, today=today,
                                      limit=limit, for_update=True)
    if not cards:
        raise NothingToPrint()
    now = desk.cards.clock.now()
    batch = PrintBatch(id=uuid.uuid4(), site_code=site_code, card_count=len(cards),
                       created_by=actor.id, created_at=now)
    repository.add(session, batch)
    for card in cards:
        record = _record(session, desk, card, for_update=True)
        record.batch_id, record.site_code, record.updated_at = batch.id, site_code, now
    session.flush()
    audit.record(session, actor=actor, action="fulfilment.batch_created", subject=str(batch.id),
                 clock=desk.cards.clock, detail={"site": site_code, "count": len(cards)})
    return _batch_out(session, batch)


def _printable(session: Session, desk: FulfilmentDesk, batch_id: uuid.UUID, *,
               for_update: bool = False) -> tuple[PrintBatch, list[Card]]:
    batch = repository.get_batch(session, batch_id, for_update=for_update)
    if batch is None:
        raise BatchNotFound()
    if batch.printed_at is not None:
        raise BatchAlreadyPrinted()
    cards = [card for card, _ in repository.cards_of_batch(session, batch.id)
             if card.fulfilment == FulfilmentState.TO_PRINT and _is_active(desk, card)]
    if not cards:
        raise NothingToPrint("No card of this batch can still be printed.")
    return batch, cards


def batch_pdf(session: Session, *, desk: FulfilmentDesk, actor: Actor,
              batch_id: uuid.UUID) -> bytes:
    """The batch's print file. A card revoked or suspended since the batch was made is left
    out: what reaches the printer is decided now."""
    batch, cards = _printable(session, desk, batch_id)
    pdf = render.render_pdf(card_service._render_sides(session, desk.cards, card)
                            for card in cards)
    audit.record(session, actor=actor, action="fulfilment.batch_file", subject=str(batch.id),
                 clock=desk.cards.clock, detail={"count": len(cards)})
    return pdf


def confirm_printed(session: Session, *, desk: FulfilmentDesk, actor: Actor,
                    batch_id: uuid.UUID) -> BatchOut:
    """The clerk saw the batch come out of the printer. Cards of the batch that may no longer be
    printed leave it and are not marked printed: they are to be destroyed, not handed out."""
    batch, _ = _printable(session, desk, batch_id, for_update=True)
    now = desk.cards.clock.now()
    printed = 0
    for card, record in repository.cards_of_batch(session, batch.id):
        card = _card(session, card.id, for_update=True)
        if card.fulfilment != FulfilmentState.TO_PRINT or not _is_active(desk, card):
            record.batch_id = None
            continue
        card.fulfilment, card.printed_at = FulfilmentState.PRINTED.value, now
        record.printed_at, record.updated_at = now, now
        printed += 1
        audit.record(session, actor=actor, action=ACTIONS[Step.PRINT],
                     subject=_pseudonym(desk, card.id), clock=desk.cards.clock,
                     detail={"site": batch.site_code})
    batch.card_count, batch.printed_by, batch.printed_at = printed, actor.id, now
    session.flush()
    audit.record(session, actor=actor, action="fulfilment.batch_printed", subject=str(batch.id),
                 clock=desk.cards.clock, detail={"count": printed})
    return _batch_out(session, batch)


def list_batches(session: Session, *, desk: FulfilmentDesk, actor: Actor,
                 site_code: str | None) -> list[BatchOut]:
    return [_batch_out(session, b) for b in repository.batches(session, site_code=site_code,
                                                                limit=50)]


# --- after printing: mail, counter, pickup --------------------------------------------------


def take_step(session: Session, *, desk: FulfilmentDesk, actor: Actor, card_id: uuid.UUID,
              step: Step, identity_check: str | None = None) -> FulfilmentOut:
    if step is Step.PRINT:
        raise IllegalFulfilmentStep("Cards are printed in batches.")
    card = _card(session, card_id, for_update=True)
    record = _record(session, desk, card, for_update=True)
    rule = desk.rules.steps[step]
    target = next_state(card.fulfilment, step, rule_set=desk.rules)
    if target is None:
        raise IllegalFulfilmentStep(f"A card that is {card.fulfilment} cannot take the step "
                                    f"'{step.value}'.")
    if rule.active_card and not _is_active(desk, card):
        raise CardNotActive()
    if rule.delivery is not None and rule.delivery != _delivery(session, card):
        raise PickupOnly()
    detail: dict[str, str | int | bool] = {"site": record.site_code}
    if step is Step.PICK_UP:
        if identity_check not in desk.rules.identity_checks:
            raise UnknownIdentityCheck(
                f"Identity checks: {', '.join(sorted(desk.rules.identity_checks))}.")
        record.identity_check = identity_check
        detail["identity_check"] = identity_check
    now = desk.cards.clock.now()
    card.fulfilment = target.value
    stamp = {Step.MAIL: "mailed_at", Step.MAKE_READY: "ready_at",
             Step.RETURN_UNDELIVERABLE: "returned_at", Step.PICK_UP: "picked_up_at",
             Step.REPORT_NOT_RECEIVED: "not_received_at"}[step]
    setattr(record, stamp, now)
    if target is FulfilmentState.READY_FOR_PICKUP:
        record.ready_at = now
    record.updated_at = now
    session.flush()
    audit.record(session, actor=actor, action=ACTIONS[step], subject=_pseudonym(desk, card.id),
                 clock=desk.cards.clock, detail=detail)
    if step in NOTIFIED:
        notify_holder(session, desk=desk, card=card, step=step)
    return _out(session, desk, card, record)
