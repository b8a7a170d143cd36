from __future__ import annotations

from fastapi import APIRouter, Request, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep
from enrollment import service as enrollment
from enrollment.schemas import (
    ApplicationCreate,
    ApplicationOut,
    DecisionIn,
    DocumentIn,
    DocumentKindOut,
)
from idcard import issuing

router = APIRouter(prefix="/v1", tags=["applications"])


@router.get("/rulebook/documents", response_model=list[DocumentKindOut])
def document_kinds(_: PrincipalDep, runtime: RuntimeDep) -> list[DocumentKindOut]:
    return [DocumentKindOut(kind=k.kind, label=k.label, category=k.category.value,
                            needs_expiry_date=k.needs_expiry_date,
                            needs_issue_date=k.needs_issue_date, photo=k.photo,
                            date_of_birth=k.date_of_birth)
            for k in runtime.rulebook.document_kinds()]


@router.post("/applications", response_model=ApplicationOut,
             status_code=status.HTTP_201_CREATED)
def create_application(body: ApplicationCreate, principal: PrincipalDep, session: SessionDep,
                       runtime: RuntimeDep) -> ApplicationOut:
    return enrollment.create_application(session, desk=runtime.enrollment,
                                         actor=principal.actor, data=body)


@router.get("/applications/{reference}", response_model=ApplicationOut)
def get_application(reference: str, principal: PrincipalDep, session: SessionDep,
                    runtime: RuntimeDep) -> ApplicationOut:
    return enrollment.get_application(session, desk=runtime.enrollment, actor=principal.actor,
                                      reference=reference)


@router.post("/applications/{reference}/documents", response_model=ApplicationOut,
             status_code=status.HTTP_201_CREATED)
def add_document(reference: str, body: DocumentIn, principal: PrincipalDep,
                 session: SessionDep, runtime: RuntimeDep) -> ApplicationOut:
    return enrollment.add_document(session, desk=runtime.enrollment, actor=principal.actor,
                                   reference=reference, document=body)


@router.put("/applications/{reference}/photo", response_model=ApplicationOut,
            openapi_extra={"requestBody": {"required": True, "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
async def set_photo(reference: str, request: Request, principal: PrincipalDep,
                    session: SessionDep, runtime: RuntimeDep) -> ApplicationOut:
    image = await request.body()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(
        enrollment.set_photo, session, desk=runtime.enrollment, actor=principal.actor,
        reference=reference, image=image)


@router.post("/applications/{reference}/submit", response_model=ApplicationOut)
def submit(reference: str, principal: PrincipalDep, session: SessionDep,
           runtime: RuntimeDep) -> ApplicationOut:
    return enrollment.advance(session, desk=runtime.enrollment, actor=principal.actor,
                              reference=reference, step="submit")


@router.post("/applications/{reference}/review", response_model=ApplicationOut)
def review(reference: str, principal: PrincipalDep, session: SessionDep,
           runtime: RuntimeDep) -> ApplicationOut:
    return enrollment.advance(session, desk=runtime.enrollment, actor=principal.actor,
                              reference=reference, step="review")


@router.post("/applications/{reference}/decision", response_model=ApplicationOut)
def decide(reference: str, body: DecisionIn, principal: PrincipalDep, session: SessionDep,
           runtime: RuntimeDep) -> ApplicationOut:
    """An approval issues the card in the same transaction."""
    return issuing.decide_and_issue_card(session, desk=runtime.cards, actor=principal.actor,
                                         reference=reference, decision=body)
