"""The card lifecycle table (idcard/lifecycle.yaml) and the rules read from it, on plain values."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from cityid.roles import Role
from idcard.errors import (
    IllegalCardTransition,
    NotLatestCard,
    ReasonNeedsRole,
    RenewalWindowClosed,
    UnknownCardReason,
)
from idcard.lifecycle import (
    LIFECYCLE_PATH,
    CardState,
    Lifecycle,
    LifecycleInvalid,
    effective_status,
    lifecycle,
    load_lifecycle,
    renewal,
    replacement,
    status_change,
)
from idcard.states import CardStatus

TODAY = date(2026, 3, 10)
EXPIRES = date(2028, 3, 10)
ACTIVE, SUSPENDED, REVOKED, EXPIRED = (CardStatus.ACTIVE, CardStatus.SUSPENDED,
                                       CardStatus.REVOKED, CardStatus.EXPIRED)


@pytest.fixture(scope="module")
def rules() -> Lifecycle:
    return lifecycle()


def card(status: CardStatus = ACTIVE, *, reason: str | None = None, issue: int = 1,
         expires_on: date = EXPIRES) -> CardState:
    return CardState(status=status, status_reason=reason, issue_number=issue,
                     expires_on=expires_on)


def test_the_table_is_read_once_per_process() -> None:
    assert lifecycle() is lifecycle()


# --- revoke, suspend, unsuspend -------------------------------------------------------------


@pytest.mark.parametrize(("action", "start", "reason", "ends", "keeps"), [
    ("revoke", ACTIVE, "lost", REVOKED, "lost"),
    ("revoke", SUSPENDED, "fraud", REVOKED, "fraud"),
    ("suspend", ACTIVE, "under_investigation", SUSPENDED, "under_investigation"),
    ("unsuspend", SUSPENDED, "investigation_closed", ACTIVE, None),
])
def test_a_status_change_leads_where_the_table_says(rules: Lifecycle, action: str,
                                                    start: CardStatus, reason: str,
                                                    ends: CardStatus, keeps: str | None) -> None:
    change = status_change(rules, action, card(start), reason)  # type: ignore[arg-type]
    assert (change.status, change.reason) == (ends, keeps)
    assert change.alters(card(start))


@pytest.mark.parametrize(("action", "start", "message"), [
    ("revoke", REVOKED, "The card is already revoked."),
    ("suspend", SUSPENDED, "Only an active card can be suspended; it is suspended."),
    ("suspend", REVOKED, "Only an active card can be suspended; it is revoked."),
    ("unsuspend", ACTIVE, "Only a suspended card can be reinstated; it is active."),
    ("unsuspend", REVOKED, "Only a suspended card can be reinstated; it is revoked."),
])
def test_a_status_change_from_the_wrong_status_is_refused(rules: Lifecycle, action: str,
                                                          start: CardStatus,
                                                          message: str) -> None:
    with pytest.raises(IllegalCardTransition) as refused:
        status_change(rules, action, card(start), "holder_request")  # type: ignore[arg-type]
    assert refused.value.detail == message


def test_the_audit_action_comes_from_the_table(rules: Lifecycle) -> None:
    assert status_change(rules, "unsuspend", card(SUSPENDED), "holder_request").audit \
        == "unsuspended"
    assert status_change(rules, "revoke", card(), "lost").audit == "revoked"


def test_a_reason_not_on_the_actions_list_is_refused(rules: Lifecycle) -> None:
    with pytest.raises(UnknownCardReason) as refused:
        rules.check_reason("suspend", "lost", Role.SUPERVISOR)
    assert refused.value.detail == ("Reasons for suspend: holder_request, reported_lost, "
                                    "under_investigation.")


def test_a_reason_is_given_only_by_its_roles(rules: Lifecycle) -> None:
    rules.check_reason("revoke", "lost", Role.CLERK)
    rules.check_reason("revoke", "fraud", Role.SUPERVISOR)
    with pytest.raises(ReasonNeedsRole) as refused:
        rules.check_reason("revoke", "fraud", Role.CLERK)
    assert refused.value.detail == "To revoke a card for 'fraud' needs the role supervisor."
    with pytest.raises(ReasonNeedsRole):
        rules.check_reason("revoke", "lost", Role.ADMIN)


def test_the_clerks_reason_list_holds_only_what_the_clerk_may_give(rules: Lifecycle) -> None:
    assert rules.reasons_for("revoke", Role.CLERK) == ["lost", "stolen"]
    assert rules.reasons_for("revoke", Role.SUPERVISOR) == ["lost", "stolen", "fraud",
                                                            "cancelled"]
    assert rules.reasons_for("suspend", None) == []


# --- replace and renew ----------------------------------------------------------------------


def test_a_replacement_revokes_the_card_it_replaces_for_its_reason(rules: Lifecycle) -> None:
    change = replacement(rules, card(SUSPENDED), reason="damaged", latest_issue=1, today=TODAY)
    assert (change.status, change.reason, change.audit) == (REVOKED, "damaged", "superseded")


def test_a_card_already_revoked_for_loss_is_replaced_and_keeps_its_reason(
        rules: Lifecycle) -> None:
    old = card(REVOKED, reason="lost")
    change = replacement(rules, old, reason="lost", latest_issue=1, today=TODAY)
    assert not change.alters(old)


def test_only_the_latest_issue_is_replaced_or_renewed(rules: Lifecycle) -> None:
    with pytest.raises(NotLatestCard):
        replacement(rules, card(issue=1), reason="lost", latest_issue=2, today=TODAY)
    with pytest.raises(NotLatestCard):
        renewal(rules, card(issue=1, expires_on=TODAY), reason="expiring", latest_issue=2,
                today=TODAY)


@pytest.mark.parametrize("final", ["fraud", "cancelled"])
def test_a_card_revoked_for_good_gets_no_successor(rules: Lifecycle, final: str) -> None:
    old = card(REVOKED, reason=final, expires_on=TODAY)
    with pytest.raises(IllegalCardTransition):
        replacement(rules, old, reason="lost", latest_issue=1, today=TODAY)
    with pytest.raises(IllegalCardTransition):
        renewal(rules, old, reason="expiring", latest_issue=1, today=TODAY)


def test_an_expired_card_is_renewed_not_replaced(rules: Lifecycle) -> None:
    expired = card(expires_on=TODAY - timedelta(days=1))
    with pytest.raises(IllegalCardTransition) as refused:
        replacement(rules, expired, reason="lost", latest_issue=1, today=TODAY)
    assert refused.value.detail == "An expired card is renewed, not replaced."
    # On its expiry date a card is still good, so it is still replaced.
    replacement(rules, card(expires_on=TODAY), reason="lost", latest_issue=1, today=TODAY)


def test_renewal_opens_sixty_days_before_expiry_and_closes_six_months_after(
        rules: Lifecycle) -> None:
    expires = date(2026, 8, 31)
    assert rules.renewal_window(expires) == (date(2026, 7, 2), date(2027, 2, 28))
    for today in (date(2026, 7, 2), expires, date(2027, 2, 28)):
        change = renewal(rules, card(expires_on=expires), reason="expiring", latest_issue=1,
                         today=today)
        assert (change.status, change.reason) == (REVOKED, "renewed")
    for today in (date(2026, 7, 1), date(2027, 3, 1)):
        with pytest.raises(RenewalWindowClosed):
            renewal(rules, card(expires_on=expires), reason="expiring", latest_issue=1,
                    today=today)


@pytest.mark.parametrize(("stored", "expires_on", "now"), [
    (ACTIVE, TODAY, ACTIVE),
    (ACTIVE, TODAY - timedelta(days=1), EXPIRED),
    (SUSPENDED, TODAY, SUSPENDED),
    (SUSPENDED, TODAY - timedelta(days=1), EXPIRED),
    (REVOKED, TODAY - timedelta(days=1), REVOKED),
    (REVOKED, TODAY, REVOKED),
])
def test_what_a_card_is_today(stored: CardStatus, expires_on: date, now: CardStatus) -> None:
    assert effective_status(stored, expires_on, TODAY) is now


# --- the table's own checks -----------------------------------------------------------------


def shipped() -> dict[str, object]:
    return dict(yaml.safe_load(LIFECYCLE_PATH.read_text()))


def write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "lifecycle.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_table_loads() -> None:
    assert set(load_lifecycle().actions) == {"revoke", "suspend", "unsuspend", "replace",
                                             "renew"}


@pytest.mark.parametrize(("action", "key", "value", "complaint"), [
    ("suspend", "to", "expired", "stored statuses"),
    ("suspend", "from", ["active", "lost"], "from"),
    ("revoke", "reasons", {"lost": ["clerk", "janitor"]}, "janitor"),
    ("revoke", "reasons", {"lost": []}, "at least one role"),
    ("suspend", "refusal", "It is {state}.", "refusal"),
    ("suspend", "refusal", None, "needs a refusal"),
    ("revoke", "superseded_reason", "renewed", "successor"),
    ("revoke", "when", "always", "when"),
])
def test_a_table_that_does_not_hold_together_is_refused(tmp_path: Path, action: str, key: str,
                                                        value: object, complaint: str) -> None:
    data = shipped()
    actions = data["actions"]
    assert isinstance(actions, dict)
    if value is None:
        del actions[action][key]
    else:
        actions[action][key] = value
    with pytest.raises(LifecycleInvalid, match=complaint):
        load_lifecycle(write(tmp_path, data))


def test_a_missing_action_is_refused(tmp_path: Path) -> None:
    data = shipped()
    actions = data["actions"]
    assert isinstance(actions, dict)
    del actions["renew"]
    with pytest.raises(LifecycleInvalid, match="renew missing"):
        load_lifecycle(write(tmp_path, data))


def test_a_final_revocation_must_be_a_revocation_reason(tmp_path: Path) -> None:
    data = shipped() | {"final_revocations": ["fraud", "damaged"]}
    with pytest.raises(LifecycleInvalid, match="damaged"):
        load_lifecycle(write(tmp_path, data))


def test_renewal_days_must_be_a_number(tmp_path: Path) -> None:
    data = shipped() | {"renewal": {"opens_days_before_expiry": True,
                                    "closes_months_after_expiry": 6}}
    with pytest.raises(LifecycleInvalid, match="positive integer"):
        load_lifecycle(write(tmp_path, data))
