"""Audit entries hold codes only: each action's purpose and detail keys come from an allow-list
(privacy/audit_details.yaml), and a code holding an immigration term is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from api.runtime import Runtime
from cityid.db import unit_of_work
from privacy import audit
from privacy.audit import Actor
from privacy.errors import AuditDetailRefused

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("enrollment", "idcard", "redemption", "privacy", "staff", "oversight", "cityid",
            "api")
PARTNER = Actor("partner:5d0c7a3e-2f8e-4a43-9d55-0f6b1c2a9e10", "partner-police")
VIA = "key:5d0c7a3e-2f8e-4a43-9d55-0f6b1c2a9e10"


@pytest.mark.parametrize(("action", "purpose", "detail"), [
    ("note", None, {}),  # an action not in the allow-list
    ("card.verified", None, {"comment": "ok"}),  # a key the action does not take
    ("card.verified", None, {"reason": 3}),  # not of its kind
    ("card.verified", None, {"reason": "ok", "incident": "INC-2026-0042"}),  # not a hash
    ("card.verified", "undocumented", {"reason": "ok"}),  # a code holding a term
    ("card.verified", "ok", {"reason": "visa_overstay"}),
    ("application.viewed", "review", {}),  # a purpose where the action takes none
])
def test_an_entry_outside_its_allow_list_is_refused(runtime: Runtime, action: str,
                                                    purpose: str | None,
                                                    detail: dict[str, audit.DetailValue]) -> None:
    with unit_of_work(runtime.sessions) as session, pytest.raises(AuditDetailRefused):
        audit.record(session, actor=PARTNER, action=action, purpose=purpose, detail=detail)


def test_an_entry_within_its_allow_list_is_recorded(runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        audit.record(session, actor=PARTNER, action="card.verified", purpose="traffic_stop",
                     subject="resident:abc", detail={"reason": "ok", "via": VIA, "by": "qr",
                                                     "disclosed": "full_name.validity",
                                                     "incident": "ab" * 32})
    with unit_of_work(runtime.sessions) as session:
        [entry] = audit.entries_about(session, "resident:abc")
    assert entry.purpose == "traffic_stop" and entry.detail["incident"] == "ab" * 32


def _recorded_actions() -> set[str]:
    """Every action the code records with a literal name (f-string names are listed in the
    allow-list by hand, and their own tests exercise them)."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record"):
                    for keyword in node.keywords:
                        if (keyword.arg == "action" and isinstance(keyword.value, ast.Constant)
                                and isinstance(keyword.value.value, str)):
                            found.add(keyword.value.value)
    return found


def test_every_action_the_code_records_is_in_the_allow_list() -> None:
    recorded = _recorded_actions()
    assert "card.verified" in recorded and "auth.sign_in_failed" in recorded
    assert recorded - set(audit.allow_list()) == set()
