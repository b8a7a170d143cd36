"""Server-rendered web pages (Jinja2) for clerks, partners, applicants and administrators.

One module per area, each with its ``router`` and the ``ACCESS`` rules of its routes; both are
gathered here, and the app merges them with the API's matrix (api/app.py). pages.py holds what
every page shares: the route class with security headers and HTML error pages, rendering and
cookies; csrf.py the form tokens.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.access import Rule
from api.web import (
    admin,
    admin_partners,
    appointments,
    assets,
    cards,
    clerk,
    clerk_day,
    corrections,
    docs,
    fees_desk,
    fulfilment_desk,
    me,
    operations,
    partner,
    partner_accounts,
    queue,
    receipt,
    reference_lookup,
    second_factor,
    signin,
    status,
)

AREAS = (assets, signin, second_factor, status, me, appointments, clerk, clerk_day, cards,
         corrections, receipt, fulfilment_desk, queue, admin, admin_partners, partner,
         partner_accounts, docs, operations, fees_desk, reference_lookup)

router = APIRouter()
ACCESS: dict[tuple[str, str], Rule] = {}
for _area in AREAS:
    router.include_router(_area.router)
    ACCESS.update(_area.ACCESS)
