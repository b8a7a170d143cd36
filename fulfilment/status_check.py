"""The applicant's status check once an active card exists: where the card is on its way.

idcard/status_check.py already answers with the card's state when it is suspended, revoked or
expired; for an active card the applicant wants to know whether it is being printed, in the
mail, waiting at the counter or in their hands, and what to do next, in their language.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from cityid.ratelimit import RateLimiter
from enrollment import i18n
from enrollment import service as enrollment
from enrollment.schemas import StatusOut
from enrollment.states import WITH_A_CARD
from fulfilment import repository
from fulfilment.states import FulfilmentState
from idcard import status_check as card_status_check
from idcard.service import CardDesk

# Each state's message: (catalog, key) in enrollment/locale.
MESSAGES: dict[FulfilmentState, tuple[str, str]] = {
    FulfilmentState.TO_PRINT: ("fulfilment", "to_print"),
    FulfilmentState.PRINTED: ("fulfilment", "printed"),
    FulfilmentState.MAILED: ("status", "mailed"),
    FulfilmentState.READY_FOR_PICKUP: ("status", "ready_for_pickup"),
    FulfilmentState.PICKED_UP: ("status", "picked_up"),
    FulfilmentState.NOT_RECEIVED: ("fulfilment", "not_received"),
}


def message(state: FulfilmentState, lang: str, *, returned: bool = False) -> tuple[str, str, str]:
    """The public status code, label and next step of a card in ``state``."""
    if state is FulfilmentState.READY_FOR_PICKUP and returned:
        # Back from the post office: the applicant needs to know why it is at the counter.
        label, next_step = i18n.fulfilment_message("returned", lang)
        return "returned_undeliverable", label, next_step
    kind, key = MESSAGES[state]
    if kind == "status":
        label, next_step = i18n.status_message(key, lang)
    else:
        label, next_step = i18n.fulfilment_message(key, lang)
    return state.value, label, next_step


def check_status(session: Session, *, desk: CardDesk, limiter: RateLimiter,
                 policy: enrollment.StatusCheckPolicy, reference: str, date_of_birth: date,
                 lang: str, client: str) -> StatusOut:
    answer = card_status_check.check_status(
        session, desk=desk, limiter=limiter, policy=policy, reference=reference,
        date_of_birth=date_of_birth, lang=lang, client=client)
    if answer.status not in WITH_A_CARD:
        return answer  # no card yet, or one that no longer works (said by idcard)
    application = enrollment.find_application(session, desk=desk.enrollment, reference=reference)
    card = repository.latest_card_of_application(session, application.id)
    if card is None:
        return answer
    try:
        state = FulfilmentState(card.fulfilment)
    except ValueError:
        return answer
    record = repository.record_of(session, card.id)
    status, label, next_step = message(
        state, lang, returned=record is not None and record.returned_at is not None)
    return answer.model_copy(update={"status": status, "label": label, "next_step": next_step})
