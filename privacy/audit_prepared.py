"""An audit entry made ready for a writer that is not the ORM: the partner hot path inserts it
with one statement of its own (``redemption.hot_repository``).

The checks and the MAC are those of :func:`privacy.audit.record`, imported, not copied: the
same codes-only rule, the same allow-list (``audit_details.yaml``), the same MAC under a key the
database does not hold. The chainer later links the row like any other waiting entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from privacy.audit import CODE, Actor, DetailValue, check_entry, entry_mac


@dataclass(frozen=True)
class PreparedEntry:
    at: datetime
    actor: str
    role: str
    action: str
    subject: str | None
    purpose: str | None
    detail: dict[str, DetailValue]
    mac: str


def _check_code(name: str, value: str | None) -> None:
    if value is not None and not CODE.match(value):
        raise ValueError(f"audit {name} must be a short code, not free text")


# Entries on the hot path repeat a few combinations of codes (reason, what was disclosed, which
# key): each combination is checked once, not per request. Bounded, so varied input can't grow it.
_checked: set[tuple[object, ...]] = set()
CHECKED_MAX = 4096


def _check(action: str, purpose: str | None, details: dict[str, DetailValue]) -> None:
    # With each value's type: True and 1 are equal as keys, not as audit details.
    combination = (action, purpose, *((k, type(v), v) for k, v in details.items()))
    if combination in _checked:
        return
    check_entry(action, purpose, details)
    if len(_checked) >= CHECKED_MAX:
        _checked.clear()
    _checked.add(combination)


def prepare_entry(mac_key: bytes, *, actor: Actor, action: str, at: datetime,
                  subject: str | None = None, purpose: str | None = None,
                  detail: Mapping[str, DetailValue] | None = None) -> PreparedEntry:
    """What ``audit.record`` would add to ``audit_pending``, refused on the same grounds."""
    details = dict(detail or {})
    for name, value in (("actor", actor.id), ("role", actor.role), ("action", action),
                        ("subject", subject), ("purpose", purpose)):
        _check_code(name, value)
    for name, detail_value in details.items():
        _check_code("detail key", name)
        if isinstance(detail_value, str):
            _check_code(f"detail {name}", detail_value)
    _check(action, purpose, details)
    return PreparedEntry(at=at, actor=actor.id, role=actor.role, action=action, subject=subject,
                         purpose=purpose, detail=details,
                         mac=entry_mac(mac_key, at=at, actor=actor.id, role=actor.role,
                                       action=action, subject=subject, purpose=purpose,
                                       detail=details))
