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


class ImmigrationTermRefused(AppError):
    kind = ErrorKind.INVALID
    code = "immigration_term"
    title = ("This program keeps no words about immigration status, not even in the names of "
             "partners, benefits or accounts. Choose another name.")

    def __init__(self, field: str) -> None:
        super().__init__(f"{self.title} ({field})")
        self.field = field


class AuditDetailRefused(ValueError):
    """A programming error, not a caller's (so not an AppError, and a 500): an audit entry
    that would carry something other than the codes its action allows
    (privacy/audit_details.yaml). Caller input reaches audit only through code lists checked
    before, so this firing means a list or the allow-list is wrong."""
