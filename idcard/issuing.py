"""The decision that issues a card: an approval and the card it issues, in one transaction.

Enrollment decides (``enrollment.decide``) but cannot see cards; this step, one layer up, adds
the card when the decision is an approval, so the two never happen apart."""

from __future__ import annotations

from sqlalchemy.orm import Session

from enrollment import service as enrollment
from enrollment.schemas import ApplicationOut, DecisionIn
from enrollment.states import ApplicationStatus
from idcard.service import CardDesk, issue_for_application
from privacy.audit import Actor


def decide_and_issue_card(session: Session, *, desk: CardDesk, actor: Actor, reference: str,
                          decision: DecisionIn) -> ApplicationOut:
    """A decision on an application; an approval issues the card in the same transaction."""
    view = enrollment.decide(session, desk=desk.enrollment, actor=actor, reference=reference,
                             decision=decision)
    if view.status != ApplicationStatus.APPROVED:
        return view
    application = enrollment.find_application(session, desk=desk.enrollment, reference=reference,
                                              for_update=True)
    issue_for_application(session, desk=desk, actor=actor, application_id=application.id,
                          resident_id=application.resident_id)
    enrollment.mark_card_issued(session, desk=desk.enrollment, actor=actor,
                                application=application)
    return enrollment.view_application(session, desk=desk.enrollment, application=application)
