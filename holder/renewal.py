"""The scheduled renewal scan: a notice to each holder whose card's renewal window opened
(rules.yaml: 60 days before expiry), once per card. Run daily (`cityid notifications
renewal-scan`); a card missed one day is found the next, as long as it is still in its window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from holder import repository
from notifications import service as notices
from notifications.rules import rules
from notifications.service import NoticeDesk


def scan(session: Session, *, desk: NoticeDesk, batch: int = 1000) -> int:
    today = desk.clock.today()
    opens = today + timedelta(days=rules().renewal_notice_days_before_expiry)
    queued = 0
    for card in repository.cards_expiring_between(session, today, opens, batch):
        queued += notices.enqueue(session, "renewal_open", card, desk=desk,
                                  params={"expires_on": card.expires_on.isoformat()})
    return queued
