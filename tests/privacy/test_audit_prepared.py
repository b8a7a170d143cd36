"""The hot path's audit entries are refused on the same grounds as ``audit.record``'s, the
first time and every time after a combination was accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privacy.audit import Actor, entry_mac
from privacy.audit_prepared import prepare_entry
from privacy.errors import AuditDetailRefused

KEY = b"k" * 32
AT = datetime(2026, 12, 2, tzinfo=UTC)
PARTNER = Actor("partner:1", "partner-cultural")


def test_an_entry_carries_the_mac_record_would_give_it() -> None:
    entry = prepare_entry(KEY, actor=PARTNER, action="card.verified", at=AT, subject="resident:x",
                          detail={"reason": "ok", "disclosed": "validity", "by": "qr"})
    assert entry.mac == entry_mac(KEY, at=AT, actor=PARTNER.id, role=PARTNER.role,
                                  action="card.verified", subject="resident:x", purpose=None,
                                  detail={"reason": "ok", "disclosed": "validity", "by": "qr"})


@pytest.mark.parametrize("detail", [{"reason": "ok", "note": "x"}, {"reason": "Free Text"},
                                    {"reason": True}, {"reason": "immigration_status"}])
def test_what_record_refuses_is_refused_every_time(detail: dict[str, object]) -> None:
    prepare_entry(KEY, actor=PARTNER, action="card.verified", at=AT, detail={"reason": "ok"})
    for _ in range(2):
        with pytest.raises((AuditDetailRefused, ValueError)):
            prepare_entry(KEY, actor=PARTNER, action="card.verified", at=AT,
                          detail=detail)  # type: ignore[arg-type]


def test_a_flag_accepted_does_not_let_a_number_through() -> None:
    prepare_entry(KEY, actor=PARTNER, action="partner.updated", at=AT,
                  detail={"active": True, "narrowed": False})
    with pytest.raises(AuditDetailRefused):
        prepare_entry(KEY, actor=PARTNER, action="partner.updated", at=AT,
                      detail={"active": 1, "narrowed": False})
