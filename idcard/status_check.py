"""The applicant's status check once a card exists: the card's current state, not the history.

Enrollment answers with the application's status, and enrollment knows nothing of cards (it sits
below them). After a card was issued, the application stays "card issued" or "mailed" for good,
while the card itself may since have been suspended, revoked or have expired; an applicant told
"your card was made" about a revoked card would go on carrying it. So the card's state, in the
applicant's language, replaces the application's once it is no longer active.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from cityid.ratelimit import RateLimiter
from enrollment import i18n
from enrollment import service as enrollment
from enrollment import status_check as enrollment_status
from enrollment.schemas import StatusOut
from enrollment.states import WITH_A_CARD
from idcard import repository
from idcard.service import CardDesk, effective_status
from idcard.states import CardStatus


def check_status(session: Session, *, desk: CardDesk, limiter: RateLimiter,
                 policy: enrollment.StatusCheckPolicy, reference: str, date_of_birth: date,
                 lang: str, client: str) -> StatusOut:
    """enrollment's status check (throttling, the one answer for a wrong reference or date of
    birth, the audit entry), then the card's state where a card was issued and is not active."""
    answer = enrollment_status.check_status(session, desk=desk.enrollment, limiter=limiter,
                                            policy=policy, reference=reference,
                                            date_of_birth=date_of_birth, lang=lang,
                                            client=client)
    if answer.status not in WITH_A_CARD:
        return answer
    application = enrollment.find_application(session, desk=desk.enrollment,
                                              reference=reference)
    issued = [c for c in repository.cards_of_resident(session, application.resident_id)
              if c.application_id == application.id]
    if not issued:
        return answer
    # A replacement or a renewal is a later issue of the same application's card.
    state = effective_status(max(issued, key=lambda c: c.issue_number), desk.clock.today())
    if state == CardStatus.ACTIVE:
        return answer
    label, next_step = i18n.card_message(state, lang)
    return answer.model_copy(update={"status": f"card_{state}", "label": label,
                                     "next_step": next_step})
