"""One-time codes and the holder sessions they open.

A holder asks with their card number and date of birth. The answer is one sentence, the same
whether the card exists, the date is right or a contact is on file, and it tells a holder with
no contact to visit a centre; a code goes out only when all three hold. Asking is throttled per
card and per client before any work. A code is six digits, valid for minutes, used once, kept
only as a keyed hash bound to the card number, and a new one retires the card's earlier ones. A
right code opens a short session bound to that card number; only the token's keyed hash is
kept. Nothing printed on the card or held in its QR is enough to act as the holder."""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from cityid.ratelimit import Limit, RateLimiter
from enrollment import residents
from holder import i18n, repository
from holder.errors import CodeNotAccepted, HolderCodesThrottled, HolderSessionRequired
from holder.models import HolderCode, HolderSession
from holder.schemas import CodeRequestOut, HolderSessionOut
from idcard import repository as card_repository
from idcard import service as cards
from idcard.service import CardDesk
from notifications import repository as notice_repository
from notifications import service as notices
from notifications.service import NoticeDesk
from privacy import audit
from privacy.audit import Actor
from privacy.vault import DECOY_OWNER

SIGN_IN = "sign_in"
TOKEN_PREFIX = "chs_"  # noqa: S105 - a token prefix, not a secret
ASKING = Actor("holder", "holder")
# Compared when the number is unknown, so that path compares too.
DECOY_BIRTH_DATE = date(1, 1, 1)


@dataclass(frozen=True)
class HolderDesk:
    cards: CardDesk
    limiter: RateLimiter
    per_card: Limit
    per_client: Limit
    code_minutes: int = 10
    code_attempts: int = 5
    session_minutes: int = 15

    @property
    def notices(self) -> NoticeDesk:
        return NoticeDesk(vault=self.cards.vault, clock=self.cards.clock)

    def code_hash(self, number_index: str, purpose: str, code: str) -> str:
        # Bound to the card and the purpose: a code asked for one card opens no other.
        return self.cards.vault.keyed_hash("holder-code", f"{number_index}:{purpose}:{code}")


@dataclass(frozen=True)
class HolderContext:
    """Who a valid holder session speaks for: one card number and its resident."""

    session_id: uuid.UUID
    resident_id: uuid.UUID
    number_index: str
    expires_at: datetime


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def subject_of(desk: HolderDesk, resident_id: uuid.UUID) -> str:
    return desk.cards.vault.pseudonym("resident", resident_id)


def issue_code(session: Session, desk: HolderDesk, *, resident_id: uuid.UUID,
               number_index: str, purpose: str) -> tuple[str, HolderCode]:
    now = desk.cards.clock.now()
    repository.retire_codes(session, number_index, purpose, now)
    code = new_code()
    row = HolderCode(resident_id=resident_id, card_number_index=number_index, purpose=purpose,
                     code_hash=desk.code_hash(number_index, purpose, code), attempts=0,
                     created_at=now, expires_at=now + timedelta(minutes=desk.code_minutes))
    repository.add(session, row)
    return code, row


def request_code(session: Session, *, desk: HolderDesk, card_number: str,
                 date_of_birth: date, client: str, lang: str) -> CodeRequestOut:
    index = cards.number_index(desk.cards, card_number)
    desk.limiter.consume(desk.per_card, f"card:{index}", HolderCodesThrottled)
    desk.limiter.consume(desk.per_client, f"client:{client}", HolderCodesThrottled)
    issues = card_repository.by_number(session, index)
    card = issues[0] if issues else None
    resident_id = card.resident_id if card is not None else DECOY_OWNER
    # One key read and one decryption whether or not the card exists.
    born = residents.read_birth_date(session, vault=desk.cards.vault, resident_id=resident_id)
    matches = hmac.compare_digest((born or DECOY_BIRTH_DATE).isoformat(),
                                  date_of_birth.isoformat())
    outcome = "no_match"
    if card is not None and born is not None and matches:
        outcome = "no_contact"
        if notice_repository.has_contact(session, card.resident_id):
            code, _ = issue_code(session, desk, resident_id=card.resident_id,
                                 number_index=index, purpose=SIGN_IN)
            notices.enqueue_code(session, desk=desk.notices, resident_id=card.resident_id,
                                 kind="one_time_code", code=code, minutes=desk.code_minutes)
            outcome = "sent"
    audit.record(session, actor=ASKING, action="holder.code_requested", clock=desk.cards.clock,
                 subject=subject_of(desk, card.resident_id) if card is not None else None,
                 detail={"outcome": outcome})
    return CodeRequestOut(detail=i18n.message("code_requested", lang,
                                              minutes=desk.code_minutes), lang=lang)


def check_code(session: Session, desk: HolderDesk, *, number_index: str, purpose: str,
               code: str) -> HolderCode | None:
    """The live code this is, now used; or None, with the attempt counted (the caller must
    commit the count: answer the refusal, don't raise it). Too many wrong tries burn the code."""
    now = desk.cards.clock.now()
    live = repository.live_codes(session, number_index, purpose, now)
    if not live:
        return None
    row = live[0]
    row.attempts += 1
    if hmac.compare_digest(row.code_hash, desk.code_hash(number_index, purpose, code)):
        row.used_at = now
        session.flush()
        return row
    if row.attempts >= desk.code_attempts:
        row.used_at = now
    session.flush()
    return None


def exchange_code(session: Session, *, desk: HolderDesk, card_number: str, code: str,
                  client: str, lang: str) -> HolderSessionOut | CodeNotAccepted:
    """A holder session for a right code; the refusal is returned so the count commits."""
    index = cards.number_index(desk.cards, card_number)
    desk.limiter.consume(desk.per_client, f"exchange:{client}", HolderCodesThrottled)
    row = check_code(session, desk, number_index=index, purpose=SIGN_IN, code=code)
    clock = desk.cards.clock
    if row is None:
        audit.record(session, actor=ASKING, action="holder.code_refused", clock=clock,
                     detail={"reason": "code_not_accepted"})
        return CodeNotAccepted(i18n.message("code_not_accepted", lang))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires = now + timedelta(minutes=desk.session_minutes)
    repository.add(session, HolderSession(
        token_hash=desk.cards.vault.keyed_hash("holder-session", token),
        resident_id=row.resident_id, card_number_index=index, created_at=now,
        expires_at=expires))
    audit.record(session, actor=ASKING, action="holder.signed_in", clock=clock,
                 subject=subject_of(desk, row.resident_id))
    return HolderSessionOut(token=token, expires_at=expires)


def resolve_session(session: Session, *, desk: HolderDesk, token: str | None) -> HolderContext:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        raise HolderSessionRequired()
    row = repository.session_by_hash(session, desk.cards.vault.keyed_hash("holder-session",
                                                                          token))
    if row is None or row.expires_at <= desk.cards.clock.now():
        raise HolderSessionRequired()
    return HolderContext(session_id=row.id, resident_id=row.resident_id,
                         number_index=row.card_number_index, expires_at=row.expires_at)


def sign_out(session: Session, *, desk: HolderDesk, context: HolderContext) -> None:
    repository.end_session(session, context.session_id)
    audit.record(session, actor=ASKING, action="holder.signed_out", clock=desk.cards.clock,
                 subject=subject_of(desk, context.resident_id))


def purge_expired(session: Session, *, now: datetime) -> tuple[int, int]:
    return repository.purge(session, now)
