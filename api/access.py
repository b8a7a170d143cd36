"""Who may call what: one declared matrix for every route.

A route that is not in this matrix makes the app refuse to start, so a new route is never open by
accident. Public routes are the listed exceptions; everything else needs a bearer token whose role
is in the route's set.
"""

from __future__ import annotations

from dataclasses import dataclass

CLERK, SUPERVISOR, ADMIN, AUDITOR, PARTNER = "clerk", "supervisor", "admin", "auditor", "partner"
# A partner's own staff accounts (signed in on the web pages); PARTNER is a partner's API key.
PARTNER_ADMIN, PARTNER_DESK = "partner_admin", "partner_desk"
STAFF = frozenset({CLERK, SUPERVISOR, ADMIN, AUDITOR, PARTNER_ADMIN, PARTNER_DESK})
ALL_ROLES = (CLERK, SUPERVISOR, ADMIN, AUDITOR, PARTNER_ADMIN, PARTNER_DESK, PARTNER)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    public: bool = False
    # For a monitoring scraper: the bearer token must be CITYID_METRICS_TOKEN, and with no token
    # set the route answers 404 (api/deps.authorize).
    scraper: bool = False

    def allows(self, role: str | None) -> bool:
        return self.public or (role is not None and role in self.roles)


PUBLIC = Rule(frozenset(), public=True)
SCRAPER = Rule(frozenset(), scraper=True)


def only(*roles: str) -> Rule:
    return Rule(frozenset(roles))


ANY_STAFF = Rule(STAFF)

SITE_RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/v1/sites"): only(ADMIN, AUDITOR, SUPERVISOR),
    ("POST", "/v1/sites"): only(ADMIN),
    ("GET", "/v1/sites/{site_id}"): only(ADMIN, AUDITOR, SUPERVISOR, CLERK),
    ("PATCH", "/v1/sites/{site_id}"): only(ADMIN),
    ("POST", "/v1/sites/{site_id}/closures"): only(ADMIN),
    ("POST", "/v1/sites/{site_id}/slots"): only(ADMIN),
    ("GET", "/v1/sites/{site_id}/staff"): only(ADMIN, AUDITOR),
    ("POST", "/v1/sites/{site_id}/staff"): only(ADMIN),
    ("DELETE", "/v1/sites/{site_id}/staff/{staff_id}"): only(ADMIN),
    # the clerk's day at a site (staff linked to it)
    ("GET", "/v1/sites/{site_id}/day"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/sites/{site_id}/appointments/{appointment_id}/check-in"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/sites/{site_id}/appointments/{appointment_id}/application"):
        only(CLERK, SUPERVISOR),
    ("POST", "/v1/sites/{site_id}/no-shows"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/sites/{site_id}/walk-ins"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/sites/{site_id}/walk-ins/{walk_in_id}/served"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/reports/appointments"): only(ADMIN, AUDITOR),
    ("GET", "/v1/appointments/sites"): PUBLIC,
    ("GET", "/v1/appointments/sites/{site_id}/slots"): PUBLIC,
    ("POST", "/v1/appointments"): PUBLIC,
    ("POST", "/v1/appointments/find"): PUBLIC,
    ("POST", "/v1/appointments/reschedule"): PUBLIC,
    ("POST", "/v1/appointments/cancel"): PUBLIC,
}

MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): SCRAPER,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/logout"): ANY_STAFF,
    ("GET", "/v1/auth/me"): ANY_STAFF,
    ("GET", "/v1/staff"): only(ADMIN),
    ("POST", "/v1/staff"): only(ADMIN),
    ("PATCH", "/v1/staff/{staff_id}"): only(ADMIN),
    ("GET", "/v1/audit/verify"): only(ADMIN, AUDITOR),
    # enrollment
    ("GET", "/v1/rulebook/documents"): only(CLERK, SUPERVISOR, ADMIN),
    ("POST", "/v1/applications"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/applications/{reference}"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/applications/{reference}/documents"): only(CLERK, SUPERVISOR),
    ("PUT", "/v1/applications/{reference}/photo"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/applications/{reference}/submit"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/applications/{reference}/review"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/applications/{reference}/decision"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/duplicates"): only(SUPERVISOR),
    ("POST", "/v1/duplicates/{flag_id}/resolve"): only(SUPERVISOR),
    ("POST", "/v1/status"): PUBLIC,
    # cards
    ("GET", "/v1/applications/{reference}/cards"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/cards/{card_id}"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/cards/{card_id}/image"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/cards/{card_id}/print.pdf"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/revoke"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/suspend"): only(SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/unsuspend"): only(SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/replace"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/renew"): only(CLERK, SUPERVISOR),
    ("GET", "/.well-known/cityid/jwks.json"): PUBLIC,
    ("GET", "/.well-known/cityid/status-list"): PUBLIC,
    ("GET", "/.well-known/cityid/audit-head"): PUBLIC,
    # partners and benefits (administration)
    ("GET", "/v1/partners"): only(ADMIN, AUDITOR),
    ("POST", "/v1/partners"): only(ADMIN),
    ("GET", "/v1/partners/{partner_id}"): only(ADMIN, AUDITOR),
    ("PATCH", "/v1/partners/{partner_id}"): only(ADMIN),
    ("POST", "/v1/partners/{partner_id}/keys"): only(ADMIN),
    ("GET", "/v1/partners/{partner_id}/keys"): only(ADMIN, AUDITOR),
    ("POST", "/v1/partners/{partner_id}/keys/{key_id}/revoke"): only(ADMIN),
    ("POST", "/v1/partners/{partner_id}/accounts"): only(ADMIN),
    # the QR verifier key, for entitled offline verifiers: admin only, audited
    ("POST", "/v1/partners/{partner_id}/verifier-keys"): only(ADMIN),
    ("GET", "/v1/benefits"): only(ADMIN, AUDITOR),
    ("POST", "/v1/benefits"): only(ADMIN),
    ("PATCH", "/v1/benefits/{benefit_id}"): only(ADMIN),
    ("GET", "/v1/reports/redemptions"): only(ADMIN, AUDITOR),
    # partners' own calls, with an API key
    ("POST", "/v1/verify"): only(PARTNER),
    ("GET", "/v1/partner/benefits"): only(PARTNER),
    ("POST", "/v1/redemptions"): only(PARTNER),
    ("POST", "/v1/redemptions/{redemption_id}/void"): only(PARTNER),
    ("POST", "/v1/holder/history"): PUBLIC,
    # legal holds and records requests
    ("POST", "/v1/applications/{reference}/holds"): only(SUPERVISOR, ADMIN),
    ("GET", "/v1/applications/{reference}/holds"): only(SUPERVISOR, ADMIN, AUDITOR),
    ("POST", "/v1/holds/{hold_id}/release"): only(SUPERVISOR, ADMIN),
    ("GET", "/v1/applications/{reference}/records"): only(SUPERVISOR, ADMIN),
    ("GET", "/v1/applications/{reference}/records.pdf"): only(SUPERVISOR, ADMIN),
    # program impact reports
    ("GET", "/v1/reports/impact"): only(ADMIN, AUDITOR),
    ("GET", "/v1/reports/impact.csv"): only(ADMIN, AUDITOR),
    ("GET", "/v1/reports/impact/{table}.svg"): only(ADMIN, AUDITOR),
    # enrollment centres (sites/) and public booking (appointments/)
    **SITE_RULES,
}


def all_rules() -> dict[tuple[str, str], Rule]:
    """The API matrix above and the web pages' rules (api/web), as one matrix."""
    from api.web import ACCESS as WEB

    overlap = MATRIX.keys() & WEB.keys()
    if overlap:
        raise RuntimeError(f"web routes clash with API routes: {sorted(overlap)}")
    return {**MATRIX, **WEB}


def rule_for(method: str, path: str) -> Rule | None:
    rule = MATRIX.get((method, path))
    if rule is None:
        from api.web import ACCESS as WEB

        rule = WEB.get((method, path))
    return rule
