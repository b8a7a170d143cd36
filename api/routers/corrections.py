"""Corrections before the decision, the photo on file, and the applicant's receipt."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from cityid.settings import Settings
from enrollment import corrections, receipt
from enrollment.correction_schemas import ApplicationEdit, DocumentWithdrawIn, ReceiptOut
from enrollment.schemas import ApplicationOut

router = APIRouter(prefix="/v1", tags=["applications"])


def status_page_url(settings: Settings) -> str:
    """The public status page, under the program's public address (the issuer, where offline
    verifiers find the key set too): never the request's Host header, which a printed receipt
    would carry to the applicant."""
    return settings.issuer.rstrip("/") + "/status"


@router.patch("/applications/{reference}", response_model=ApplicationOut)
def edit_application(reference: str, body: ApplicationEdit, principal: PrincipalDep,
                     session: SessionDep, runtime: RuntimeDep) -> ApplicationOut:
    """Corrects the fields sent, before the decision; 409 ``application_frozen`` once
    approved."""
    return corrections.edit_application(session, desk=runtime.enrollment,
                                        actor=principal.actor, reference=reference, edit=body)


@router.get("/applications/{reference}/photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def application_photo(reference: str, principal: PrincipalDep, session: SessionDep,
                      runtime: RuntimeDep) -> Response:
    jpeg = corrections.application_photo(session, desk=runtime.enrollment,
                                         actor=principal.actor, reference=reference)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/applications/{reference}/documents/{document_id}/withdraw",
             response_model=ApplicationOut)
def withdraw_document(reference: str, document_id: uuid.UUID, body: DocumentWithdrawIn,
                      principal: PrincipalDep, session: SessionDep,
                      runtime: RuntimeDep) -> ApplicationOut:
    return corrections.withdraw_document(session, desk=runtime.enrollment,
                                         actor=principal.actor, reference=reference,
                                         document_id=document_id, reason=body.reason)


@router.get("/applications/{reference}/receipt", response_model=ReceiptOut)
def application_receipt(reference: str, principal: PrincipalDep,
                        session: SessionDep, runtime: RuntimeDep,
                        lang: str | None = None) -> ReceiptOut:
    return receipt.receipt(session, desk=runtime.enrollment, actor=principal.actor,
                           reference=reference, lang=lang,
                           status_url=status_page_url(runtime.settings))
