"""Card fulfilment for the desk: print batches per site, mailing, returns and pickup."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.runtime import Runtime
from fulfilment import service as fulfilment
from fulfilment import worklists
from fulfilment.schemas import BatchIn, BatchOut, FulfilmentOut, PickupIn, SiteIn
from fulfilment.service import FulfilmentDesk
from fulfilment.states import Step
from fulfilment.worklists import Worklist, WorklistOut

router = APIRouter(prefix="/v1", tags=["fulfilment"])
NO_STORE = {"Cache-Control": "no-store"}


def _desk(runtime: Runtime) -> FulfilmentDesk:
    return FulfilmentDesk.of(runtime.cards)


@router.get("/cards/{card_id}/fulfilment", response_model=FulfilmentOut)
def get_fulfilment(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                   runtime: RuntimeDep) -> FulfilmentOut:
    return fulfilment.fulfilment_of(session, desk=_desk(runtime), actor=principal.actor,
                                    card_id=card_id)


@router.post("/cards/{card_id}/fulfilment/site", response_model=FulfilmentOut)
def assign_site(card_id: uuid.UUID, body: SiteIn, principal: PrincipalDep, session: SessionDep,
                runtime: RuntimeDep) -> FulfilmentOut:
    return fulfilment.assign_site(session, desk=_desk(runtime), actor=principal.actor,
                                  card_id=card_id, site_code=body.site_code)


def _step(step: Step) -> Callable[..., FulfilmentOut]:
    def take(card_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
             runtime: RuntimeDep) -> FulfilmentOut:
        return fulfilment.take_step(session, desk=_desk(runtime), actor=principal.actor,
                                    card_id=card_id, step=step)
    take.__name__ = f"card_{step.value}"
    return take


router.post("/cards/{card_id}/fulfilment/mail", response_model=FulfilmentOut,
            summary="The printed card was put in the mail")(_step(Step.MAIL))
router.post("/cards/{card_id}/fulfilment/ready", response_model=FulfilmentOut,
            summary="The printed card waits at the site's counter")(_step(Step.MAKE_READY))
router.post("/cards/{card_id}/fulfilment/returned", response_model=FulfilmentOut,
            summary="The mailed card came back undeliverable; it waits for pickup")(
    _step(Step.RETURN_UNDELIVERABLE))
router.post("/cards/{card_id}/fulfilment/not-received", response_model=FulfilmentOut,
            summary="The holder reports the mailed card never came")(
    _step(Step.REPORT_NOT_RECEIVED))


@router.post("/cards/{card_id}/fulfilment/picked-up", response_model=FulfilmentOut)
def picked_up(card_id: uuid.UUID, body: PickupIn, principal: PrincipalDep, session: SessionDep,
              runtime: RuntimeDep) -> FulfilmentOut:
    """The clerk handed the card over after confirming the holder's identity in person."""
    return fulfilment.take_step(session, desk=_desk(runtime), actor=principal.actor,
                                card_id=card_id, step=Step.PICK_UP,
                                identity_check=body.identity_check)


@router.get("/print-batches", response_model=list[BatchOut])
def list_batches(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep,
                 site: str | None = None) -> list[BatchOut]:
    return fulfilment.list_batches(session, desk=_desk(runtime), actor=principal.actor,
                                   site_code=site)


@router.post("/print-batches", response_model=BatchOut, status_code=201)
def create_batch(body: BatchIn, principal: PrincipalDep, session: SessionDep,
                 runtime: RuntimeDep) -> BatchOut:
    return fulfilment.create_batch(session, desk=_desk(runtime), actor=principal.actor,
                                   site_code=body.site_code, limit=body.limit)


@router.get("/print-batches/{batch_id}/print.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def batch_pdf(batch_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
              runtime: RuntimeDep) -> Response:
    pdf = fulfilment.batch_pdf(session, desk=_desk(runtime), actor=principal.actor,
                               batch_id=batch_id)
    return Response(pdf, media_type="application/pdf", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="batch-{batch_id}.pdf"'})


@router.post("/print-batches/{batch_id}/printed", response_model=BatchOut)
def confirm_printed(batch_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                    runtime: RuntimeDep) -> BatchOut:
    return fulfilment.confirm_printed(session, desk=_desk(runtime), actor=principal.actor,
                                      batch_id=batch_id)


@router.get("/worklists/{worklist}", response_model=WorklistOut)
def get_worklist(worklist: Worklist, principal: PrincipalDep, session: SessionDep,
                 runtime: RuntimeDep, site: str | None = None,
                 min_age_hours: Annotated[int | None, Query(ge=0, le=24 * 365)] = None
                 ) -> WorklistOut:
    """References, states, sites and waiting times only: no one's personal data."""
    return worklists.worklist(session, desk=_desk(runtime), actor=principal.actor,
                              query=worklists.Query(
                                  worklist, site_code=site,
                                  min_age=timedelta(hours=min_age_hours)
                                  if min_age_hours is not None else None))
