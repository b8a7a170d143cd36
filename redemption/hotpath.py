"""Partner verification by QR on the hot path: the same decision as ``redemption.verification``
in steps the caller runs around its own two statements (card lookup, audit insert), so no ORM
session, unit of work or threadpool hop is needed.

It only takes what it answers exactly as the normal route does: a valid QR request by a partner
whose disclosure needs no decryption (validity, expiry, holder token). Everything else (checks
by number, bank and police disclosures) goes to the normal route. ``tests/redemption/
test_hotpath_equivalence.py`` holds the two routes to the same answers and audit entries."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from idcard import service as cards
from idcard.cose import public_jwks
from idcard.service import CardDesk
from idcard.verifier import Reason, verify_credential
from partners.purposes import incident_hash
from partners.service import PartnerAccess
from privacy.audit import DetailValue
from privacy.audit_prepared import PreparedEntry, prepare_entry
from redemption.hot_repository import CardRow
from redemption.schemas import VerifyIn

# The attributes the hot path can disclose from the card row and keys alone.
HOT_ATTRIBUTES = frozenset({"validity", "expires_on", "holder_token"})
STATUS_REASON = {"active": Reason.OK, "suspended": Reason.SUSPENDED, "revoked": Reason.REVOKED,
                 "expired": Reason.EXPIRED}


def takes(partner: PartnerAccess) -> bool:
    """Whether the hot path answers for this partner exactly as the normal route would."""
    return partner.attributes <= HOT_ATTRIBUTES


@dataclass(frozen=True)
class QrChecked:
    """Signature, key and time checked; ``number_index`` set when the live status decides."""

    reason: str
    number_index: str | None = None
    issue_number: int | None = None


class HotDesk:
    """What the hot path keeps between requests: the key set and verifier keys (rebuilt only
    when the keyring changes), and each partner's holder-token secret."""

    def __init__(self, desk: CardDesk) -> None:
        self.desk = desk
        self._jwks: tuple[tuple[str, ...], dict[str, Any]] | None = None
        self._secrets: dict[uuid.UUID, bytes] = {}

    def jwks(self) -> dict[str, Any]:
        keys = self.desk.vault.signing_keys()
        ident = tuple(k.kid for k in keys)
        if self._jwks is None or self._jwks[0] != ident:
            self._jwks = (ident, public_jwks(keys))
        return self._jwks[1]

    def check_qr(self, qr: str, now: datetime) -> QrChecked:
        """As ``verification.check_presented`` for a QR, up to the database."""
        verdict = verify_credential(qr.strip(), jwks=self.jwks(), status=None, now=now,
                                    verifier_keys=cards.verifier_keys(self.desk))
        # With no list, a good credential stops at status_list_stale: the live status decides.
        if verdict.reason is not Reason.STATUS_LIST_STALE or verdict.fields is None:
            return QrChecked(verdict.reason.value)
        return QrChecked(verdict.reason.value,
                         cards.number_index(self.desk, verdict.fields.card_number),
                         verdict.fields.issue_number)

    def holder_token(self, partner_id: uuid.UUID, resident_id: uuid.UUID) -> str:
        # redemption.service.holder_token, with the partner's secret derived once.
        secret = self._secrets.get(partner_id)
        if secret is None:
            secret = bytes.fromhex(self.desk.vault.blind_index("partner-holder-secret",
                                                               str(partner_id)))
            self._secrets[partner_id] = secret
        return "h_" + hmac.digest(secret, resident_id.bytes, hashlib.sha256).hex()[:32]

    def answer(self, *, mac_key: bytes, partner: PartnerAccess, request: VerifyIn,
               checked: QrChecked, card: CardRow | None,
               now: datetime) -> tuple[dict[str, Any], PreparedEntry]:
        """The answer and its audit entry, as ``verification.verify`` makes them."""
        reason = checked.reason
        if checked.number_index is not None:
            # Signed by us but no longer on record: treated as revoked, as the normal route does.
            reason = (live_reason(card, now.date()) if card is not None
                      else Reason.REVOKED.value)
        else:
            card = None
        valid = reason == Reason.OK.value
        disclosed: dict[str, Any] = {}
        if valid and card is not None:
            wanted = partner.attributes
            out: dict[str, Any] = {"validity": "valid"}
            if "expires_on" in wanted:
                out["expires_on"] = card.expires_on.isoformat()
            if "holder_token" in wanted:
                out["holder_token"] = self.holder_token(partner.partner_id, card.resident_id)
            disclosed = {k: v for k, v in out.items() if k in wanted}
        subject = (self.desk.vault.pseudonym("resident", card.resident_id)
                   if card is not None else None)
        detail: dict[str, DetailValue] = {
            "reason": reason, "disclosed": ".".join(sorted(disclosed))[:64] or "nothing",
            "via": partner.operator, "by": "qr"}
        if request.incident_reference is not None:
            detail["incident"] = incident_hash(self.desk.vault, request.incident_reference)
        entry = prepare_entry(mac_key, actor=partner.actor, action="card.verified", at=now,
                              subject=subject, purpose=request.purpose, detail=detail)
        body = {"result": "valid" if valid else "invalid", "reason": reason,
                "disclosed": disclosed}
        return body, entry


def live_reason(card: CardRow, today: date) -> str:
    # The rule of idcard.service.effective_status, on a row rather than an ORM card.
    if card.status == "revoked":
        status = "revoked"
    elif card.expires_on < today:
        status = "expired"
    else:
        status = "suspended" if card.status == "suspended" else "active"
    return STATUS_REASON[status].value
