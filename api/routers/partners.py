"""Administration of partners, their API keys and their benefits."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from cityid.roles import Role
from partners import keys as partner_keys
from partners import service as partners
from partners.schemas import (
    KeyCreate,
    KeyOut,
    NewKeyOut,
    PartnerCreate,
    PartnerOut,
    PartnerUpdate,
)
from redemption import benefits as catalogue
from redemption import reports
from redemption import service as redemption
from redemption.schemas import BenefitCreate, BenefitOut, BenefitUpdate, ReportCell
from staff import service as staff_service
from staff.schemas import PartnerAccountCreate, StaffOut

router = APIRouter(prefix="/v1", tags=["partners"])


@router.get("/partners", response_model=list[PartnerOut])
def list_partners(_: PrincipalDep, session: SessionDep) -> list[PartnerOut]:
    return partners.list_partners(session)


@router.post("/partners", response_model=PartnerOut, status_code=status.HTTP_201_CREATED)
def create_partner(body: PartnerCreate, principal: PrincipalDep, session: SessionDep,
                   runtime: RuntimeDep) -> PartnerOut:
    return partners.create_partner(session, actor=principal.actor, clock=runtime.clock,
                                   data=body)


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def get_partner(partner_id: uuid.UUID, _: PrincipalDep, session: SessionDep) -> PartnerOut:
    return partners.get_partner(session, partner_id=partner_id)


@router.patch("/partners/{partner_id}", response_model=PartnerOut)
def update_partner(partner_id: uuid.UUID, body: PartnerUpdate, principal: PrincipalDep,
                   session: SessionDep, runtime: RuntimeDep) -> PartnerOut:
    return partners.update_partner(session, actor=principal.actor, clock=runtime.clock,
                                   partner_id=partner_id, data=body)


@router.post("/partners/{partner_id}/keys", response_model=NewKeyOut,
             status_code=status.HTTP_201_CREATED)
def create_key(partner_id: uuid.UUID, body: KeyCreate, principal: PrincipalDep,
               session: SessionDep, runtime: RuntimeDep) -> NewKeyOut:
    """The key is in this answer only; the program keeps its hash."""
    return partner_keys.create_key(session, actor=principal.actor, clock=runtime.clock,
                               partner_id=partner_id, data=body)


@router.get("/partners/{partner_id}/keys", response_model=list[KeyOut])
def list_keys(partner_id: uuid.UUID, _: PrincipalDep, session: SessionDep) -> list[KeyOut]:
    return partner_keys.list_keys(session, partner_id=partner_id)


@router.post("/partners/{partner_id}/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(partner_id: uuid.UUID, key_id: uuid.UUID, principal: PrincipalDep,
               session: SessionDep, runtime: RuntimeDep) -> KeyOut:
    return partner_keys.revoke_key(session, actor=principal.actor, clock=runtime.clock,
                               partner_id=partner_id, key_id=key_id)


@router.post("/partners/{partner_id}/accounts", response_model=StaffOut,
             status_code=status.HTTP_201_CREATED)
def create_partner_account(partner_id: uuid.UUID, body: PartnerAccountCreate,
                           principal: PrincipalDep, session: SessionDep,
                           runtime: RuntimeDep) -> StaffOut:
    """A partner's own sign-in account, usually its first partner admin, who then manages the
    partner's desk accounts on the partner pages."""
    account = staff_service.create_account(
        session, actor=principal.actor, username=body.username, password=body.password,
        role=Role(body.role), clock=runtime.clock, partner_id=partner_id)
    return StaffOut(id=account.id, username=account.username, role=Role(account.role),
                    active=account.active, created_at=account.created_at,
                    partner_id=account.partner_id)


@router.get("/benefits", response_model=list[BenefitOut])
def list_benefits(_: PrincipalDep, session: SessionDep,
                  partner_id: uuid.UUID | None = None) -> list[BenefitOut]:
    return catalogue.list_benefits(session, partner_id=partner_id)


@router.post("/benefits", response_model=BenefitOut, status_code=status.HTTP_201_CREATED)
def create_benefit(body: BenefitCreate, principal: PrincipalDep, session: SessionDep,
                   runtime: RuntimeDep) -> BenefitOut:
    return catalogue.create_benefit(session, actor=principal.actor, clock=runtime.clock,
                                    data=body)


@router.patch("/benefits/{benefit_id}", response_model=BenefitOut)
def update_benefit(benefit_id: uuid.UUID, body: BenefitUpdate, principal: PrincipalDep,
                   session: SessionDep, runtime: RuntimeDep) -> BenefitOut:
    return catalogue.update_benefit(session, actor=principal.actor, clock=runtime.clock,
                                    benefit_id=benefit_id, data=body)


@router.get("/reports/redemptions", response_model=list[ReportCell])
def redemption_report(_: PrincipalDep, session: SessionDep) -> list[ReportCell]:
    """Redemptions by partner, benefit and month; cells under 10 are suppressed."""
    return reports.redemptions_by_month(session)


@router.post("/partners/{partner_id}/verifier-keys")
def export_verifier_keys(partner_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                         runtime: RuntimeDep, response: Response,
                         key_ceremony: Annotated[uuid.UUID | None, Header()] = None
                         ) -> dict[str, Any]:
    """The QR verifier keys (a JWK Set) for an offline verifier whose partner type is entitled
    to them, under a key ceremony (the ``Key-Ceremony`` header) that this admin started and
    another approved. Audited; never cached."""
    response.headers["Cache-Control"] = "no-store"
    return redemption.export_verifier_keys_under_ceremony(
        session, desk=runtime.cards, actor=principal.actor, partner_id=partner_id,
        ceremony_id=key_ceremony, clock=runtime.clock)
