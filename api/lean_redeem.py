"""The lean route for ``POST /v1/redemptions`` with a QR, on PostgreSQL: the shell of the lean
verification (``api.lean``: every middleware guarantee, the cached key and its checks, both rate
limits) around a redemption in three network waits (``redemption.hot_ledger_repository``)
instead of about fourteen.

What it does not answer exactly as the normal route would, it hands over before counting or
writing anything (``redemption.hot_ledger.take``). What it answers: the new receipt, a retry's
receipt or ``idempotency_conflict``, ``already_redeemed``, ``partner_throttled``, and a clear 503
when the database stays away -- never a redemption without its audit entry, never two."""

from __future__ import annotations

import re

from starlette.types import Scope

from api.lean import (
    Answer,
    HandOver,
    LeanVerifyMiddleware,
    bearer,
    error_answer,
    json_answer,
    parse,
)
from cityid.errors import AppError, DatabaseUnavailable
from partners import keys as partner_keys
from partners.errors import PartnerThrottled
from privacy import audit
from privacy.audit_prepared import PreparedEntry
from redemption import hot_ledger_repository as ledger_repo
from redemption import ledger
from redemption.errors import AlreadyRedeemed, IdempotencyConflict
from redemption.hot_ledger import HotLedger, take
from redemption.hot_ledger_repository import Locked, NewRedemption
from redemption.schemas import RedemptionIn

PATH = "/v1/redemptions"


def _idempotency_key(scope: Scope) -> str | None:
    """The one Idempotency-Key header, if it has the shape the ledger takes."""
    found = [value for name, value in scope["headers"] if name == b"idempotency-key"]
    if len(found) != 1:
        return None
    value = bytes(found[0]).decode("latin-1")
    return value if re.fullmatch(ledger.IDEMPOTENCY_KEY, value) else None


async def redeem(lean: LeanVerifyMiddleware, scope: Scope, body: bytes) -> Answer:
    token = bearer(scope)
    header = _idempotency_key(scope)
    if token is None or not partner_keys.is_partner_key(token) or header is None:
        raise HandOver()
    request = parse(scope, body, RedemptionIn)
    assert request.qr is not None
    db, hot = lean.start()
    runtime = lean.runtime
    desk = runtime.ledger
    now = runtime.clock.now()
    try:
        cached = await lean.key(db, token, now)
        partner = cached.access
        try:
            partner.require("redeem")
        except AppError:
            raise HandOver() from None
        checked = hot.check_qr(request.qr, now)
        key = ledger.idempotency_hash(desk, partner, header)
        reads = await ledger_repo.reads(db, partner_id=partner.partner_id, idempotency_key=key,
                                        benefit_id=request.benefit_id,
                                        number_index=checked.number_index,
                                        issue_number=checked.issue_number)
        taken = take(reads, partner=partner, checked=checked, now=now, zone=desk.zone)
        if taken is None:
            raise HandOver()
        # From here on this route answers, so it counts the request as the normal route would.
        lean.count(scope, partner)
        await lean.touch(db, cached, now)
        request_hash = ledger.request_hash_of(request)
        hot_ledger = HotLedger(hot, desk.zone)
        mac_key = audit.mac_key(runtime.vault)
        made: list[NewRedemption] = []
        refused: list[AlreadyRedeemed] = []

        def decide(locked: Locked) -> tuple[NewRedemption, PreparedEntry] | None:
            made.clear()
            refused.clear()  # a rerun after a broken connection decides afresh
            try:
                decided = hot_ledger.decide(locked, taken=taken, partner=partner, key=key,
                                            request_hash=request_hash, now=now,
                                            mac_key=mac_key)
            except AlreadyRedeemed as exc:
                refused.append(exc)
                return None
            if decided is not None:
                made.append(decided[0])
            return decided

        locked, committed = await ledger_repo.transact(
            db, partner_id=partner.partner_id, idempotency_key=key, benefit_id=taken.benefit.id,
            resident_id=taken.card.resident_id, period=taken.period, decide=decide)
        if locked is None:
            # A unique index refused the row: as the normal route, the key's own redemption
            # answers (a replay, or another body's conflict); without one, the limit did.
            again = await ledger_repo.reads(db, partner_id=partner.partner_id,
                                            idempotency_key=key, benefit_id=taken.benefit.id,
                                            number_index=None, issue_number=None)
            if again.earlier is None:
                raise AlreadyRedeemed()
            receipt = hot_ledger.replay(partner=partner, taken=taken, earlier=again.earlier,
                                        counted=[], request_hash=request_hash)
        elif refused:
            raise refused[0]
        else:
            receipt = hot_ledger.receipt(partner=partner, taken=taken, locked=locked,
                                         made=made[0] if committed else None,
                                         request_hash=request_hash)
    except (PartnerThrottled, DatabaseUnavailable, AlreadyRedeemed, IdempotencyConflict) as exc:
        return error_answer(exc)
    return json_answer(receipt.model_dump(mode="json"))
