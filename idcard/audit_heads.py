"""Audit chain heads signed as COSE_Sign1 under the card signing key, like the status list, so
the published JWKS checks them too. privacy/anchor.py defines what a head is and asks for a
signer; the keys and COSE live here, one layer up, where it can't see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idcard.cose import (
    HEADER_CONTENT_TYPE,
    HEADER_TYP,
    CredentialError,
    public_jwks,
    read_cose_sign1,
    sign_cose,
    verify_cose,
)
from idcard.errors import NoSigningKey
from privacy import anchor
from privacy.vault import Vault


@dataclass(frozen=True)
class CoseHeadSigning:
    """Checked against ``jwks``, or every key of the keyring."""

    vault: Vault
    jwks: Mapping[str, Any] | None = None

    def sign(self, payload: bytes) -> bytes:
        key = self.vault.active_signing_key()
        if key is None:
            raise NoSigningKey()
        return sign_cose(payload, key, headers={HEADER_TYP: anchor.TYP,
                                                HEADER_CONTENT_TYPE: anchor.PAYLOAD_TYPE},
                         signer=self.vault.sign)

    def open(self, document: bytes) -> bytes:
        try:
            message = read_cose_sign1(document)
        except CredentialError:
            raise anchor.AnchorInvalid("the signed head is not a COSE_Sign1") from None
        if message.protected.get(HEADER_TYP) != anchor.TYP:
            raise anchor.AnchorInvalid("the signed document is not typed as an audit head")
        try:
            verify_cose(message, self.jwks or public_jwks(self.vault.signing_keys()))
        except CredentialError as exc:
            raise anchor.AnchorInvalid(f"not signed by a published key ({exc.reason})") from None
        return message.payload
