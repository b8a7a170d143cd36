from __future__ import annotations

from cityid.errors import AppError, ErrorKind


class ForbiddenField(AppError):
    kind = ErrorKind.INVALID
    code = "forbidden_field"
    title = (
        "This program does not collect immigration status, citizenship, nationality, place of "
        "birth, identity-document numbers or their issuing country. Remove that field and try "
        "again."
    )


class KeyringError(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "keyring_error"
    title = "The keyring could not be used"


class DataKeyShredded(AppError):
    kind = ErrorKind.GONE
    code = "data_shredded"
    title = "This record's data key has been destroyed; its personal data is unreadable"


class DecryptionFailed(AppError):
    kind = ErrorKind.UNAVAILABLE
    code = "decryption_failed"
    title = "A stored value could not be decrypted"


class AuditChainBroken(AppError):
    kind = ErrorKind.CONFLICT
    code = "audit_chain_broken"
    title = "The audit chain does not verify"
