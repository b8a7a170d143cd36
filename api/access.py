"""Who may call what: one declared matrix for every route.

A route that is not in this matrix makes the app refuse to start, so a new route is never open by
accident. Public routes are the listed exceptions; everything else needs a bearer token whose role
is in the route's set. The web pages declare their own rules beside their routes (api/web), with
the roles and rule makers defined here; the app merges both into the one matrix it checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cityid.roles import Role

CLERK, SUPERVISOR, ADMIN, AUDITOR = Role.CLERK, Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR
# A partner's own staff accounts (signed in on the web pages); PARTNER is a partner's API key,
# a caller but not a staff role.
PARTNER_ADMIN, PARTNER_DESK = Role.PARTNER_ADMIN, Role.PARTNER_DESK
PARTNER = "partner"
STAFF = frozenset(Role)
ALL_ROLES = (CLERK, SUPERVISOR, ADMIN, AUDITOR, PARTNER_ADMIN, PARTNER_DESK, PARTNER)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    public: bool = False
    # For a monitoring scraper: the bearer token must be CITYID_METRICS_TOKEN, and with no token
    # set the route answers 404 (api/deps.authorize).
    scraper: bool = False
    # For a cardholder: public to this matrix (a holder has no staff account), and the route
    # itself demands a holder session opened with a one-time code (api/routers/holder.py).
    holder: bool = False

    def allows(self, role: str | None) -> bool:
        return self.public or (role is not None and role in self.roles)


PUBLIC = Rule(frozenset(), public=True)
SCRAPER = Rule(frozenset(), scraper=True)
HOLDER = Rule(frozenset(), public=True, holder=True)


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
    # second factors, password life and one's own sessions (api/routers/staff_security.py)
    ("POST", "/v1/auth/second-factor/enrolment"): PUBLIC,
    ("POST", "/v1/auth/second-factor/confirmation"): PUBLIC,
    ("POST", "/v1/auth/recovery-codes"): ANY_STAFF,
    ("POST", "/v1/auth/password"): PUBLIC,
    ("GET", "/v1/auth/sessions"): ANY_STAFF,
    ("POST", "/v1/auth/logout-everywhere"): ANY_STAFF,
    ("POST", "/v1/staff/{staff_id}/password-reset"): only(ADMIN),
    ("POST", "/v1/staff/{staff_id}/second-factor/reset"): only(ADMIN),
    # key ceremonies: two admins let a key out (api/routers/key_ceremonies.py)
    ("POST", "/v1/key-ceremonies"): only(ADMIN),
    ("POST", "/v1/key-ceremonies/{ceremony_id}/approve"): only(ADMIN),
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
    # corrections before the decision, the photo on file, the receipt (enrollment/corrections.py)
    ("PATCH", "/v1/applications/{reference}"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/applications/{reference}/photo"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/applications/{reference}/documents/{document_id}/withdraw"):
        only(CLERK, SUPERVISOR),
    ("GET", "/v1/applications/{reference}/receipt"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/duplicates"): only(SUPERVISOR),
    ("POST", "/v1/duplicates/{flag_id}/resolve"): only(SUPERVISOR),
    ("POST", "/v1/status"): PUBLIC,
    # a lost reference, from the name and date of birth: the desk only, never online
    ("POST", "/v1/reference-lookups"): only(CLERK, SUPERVISOR),
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
    # card fulfilment (fulfilment/)
    ("GET", "/v1/cards/{card_id}/fulfilment"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/site"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/mail"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/ready"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/returned"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/not-received"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fulfilment/picked-up"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/print-batches"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/print-batches"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/print-batches/{batch_id}/print.pdf"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/print-batches/{batch_id}/printed"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/worklists/{worklist}"): only(CLERK, SUPERVISOR),
    # fees and waivers (fees/): amounts and codes only
    ("GET", "/v1/cards/{card_id}/fee"): only(CLERK, SUPERVISOR),
    ("POST", "/v1/cards/{card_id}/fee"): only(CLERK, SUPERVISOR),
    ("GET", "/v1/reports/fees"): only(ADMIN, AUDITOR),
    # operating numbers (fulfilment/numbers.py): aggregates, small cells withheld
    ("GET", "/v1/reports/operations"): only(SUPERVISOR, ADMIN, AUDITOR),
    ("GET", "/v1/reports/operations.csv"): only(SUPERVISOR, ADMIN, AUDITOR),
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
    # Holder self-service: asking for a code and exchanging it are public; the rest need the
    # holder session it opens. History answers a holder session, and refuses card data alone.
    ("POST", "/v1/holder/history"): PUBLIC,
    ("POST", "/v1/holder/codes"): PUBLIC,
    ("POST", "/v1/holder/sessions"): PUBLIC,
    ("DELETE", "/v1/holder/sessions/current"): HOLDER,
    ("GET", "/v1/holder/me"): HOLDER,
    ("POST", "/v1/holder/card/lock"): HOLDER,
    ("POST", "/v1/holder/card/replace"): HOLDER,
    ("POST", "/v1/holder/card/renew"): HOLDER,
    ("POST", "/v1/holder/contacts/{channel}"): HOLDER,
    ("POST", "/v1/holder/contacts/{channel}/confirm"): HOLDER,
    ("DELETE", "/v1/holder/contacts/{channel}"): HOLDER,
    ("PUT", "/v1/holder/notifications/{kind}"): HOLDER,
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


Matrix = dict[tuple[str, str], Rule]


def merged(*matrices: Mapping[tuple[str, str], Rule]) -> Matrix:
    """One matrix out of several (this one and the web pages', which api/app.py merges). A route
    named twice is refused, so neither part can quietly loosen a rule of the other."""
    merged: Matrix = {}
    for matrix in matrices:
        overlap = merged.keys() & matrix.keys()
        if overlap:
            raise RuntimeError(f"web routes clash with API routes: {sorted(overlap)}")
        merged.update(matrix)
    return merged
