"""Holder self-service over the API: ask for a one-time code with the card number and date of
birth, exchange it for a short holder session, then act on that one card with the session's
bearer token. The routes are public in the access matrix because a holder has no staff account;
each one past the code exchange demands a valid holder session (``HolderDep``)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Header, Request, Response

from api.deps import RuntimeDep, SessionDep, client_address
from api.errors import app_error_response
from cityid.errors import AppError
from enrollment import i18n
from holder import codes
from holder import service as holder
from holder.codes import HolderContext
from holder.schemas import (
    Channel,
    ChoiceIn,
    CodeExchangeIn,
    CodeIn,
    CodeRequestIn,
    CodeRequestOut,
    ContactCodeOut,
    ContactIn,
    HolderOverview,
    HolderSessionOut,
)
from redemption import history
from redemption.schemas import HolderEvent, HolderHistoryIn

router = APIRouter(prefix="/v1/holder", tags=["holder"])
AcceptLanguage = Annotated[str | None, Header()]


def holder_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def holder_context(request: Request, session: SessionDep, runtime: RuntimeDep) -> HolderContext:
    return codes.resolve_session(session, desk=runtime.holder, token=holder_token(request))


HolderDep = Annotated[HolderContext, Depends(holder_context)]
T = TypeVar("T")


def _answer(result: T | AppError) -> T | Response:
    return app_error_response(result) if isinstance(result, AppError) else result


@router.post("/codes", response_model=CodeRequestOut, status_code=202)
def request_code(body: CodeRequestIn, request: Request, session: SessionDep,
                 runtime: RuntimeDep, accept_language: AcceptLanguage = None) -> CodeRequestOut:
    """The same answer whether or not the card exists, the date of birth is right or a contact
    is on file; a code goes to the contact on file only when all hold."""
    return codes.request_code(session, desk=runtime.holder, card_number=body.card_number,
                              date_of_birth=body.date_of_birth, client=client_address(request),
                              lang=i18n.negotiate(accept_language, body.lang))


@router.post("/sessions", response_model=HolderSessionOut, status_code=201,
             responses={422: {"description": "code_not_accepted"}})
def open_session(body: CodeExchangeIn, request: Request, session: SessionDep,
                 runtime: RuntimeDep,
                 accept_language: AcceptLanguage = None) -> HolderSessionOut | Response:
    return _answer(codes.exchange_code(session, desk=runtime.holder, card_number=body.card_number,
                                       code=body.code, client=client_address(request),
                                       lang=i18n.negotiate(accept_language, body.lang)))


@router.delete("/sessions/current", status_code=204)
def close_session(context: HolderDep, session: SessionDep, runtime: RuntimeDep) -> Response:
    codes.sign_out(session, desk=runtime.holder, context=context)
    return Response(status_code=204)


@router.get("/me", response_model=HolderOverview)
def me(context: HolderDep, session: SessionDep, runtime: RuntimeDep) -> HolderOverview:
    return holder.overview(session, desk=runtime.holder, context=context)


@router.post("/history", response_model=list[HolderEvent],
             responses={403: {"description": "holder_code_required: history needs a holder "
                                             "session, opened with a one-time code"}})
def card_history(request: Request, session: SessionDep, runtime: RuntimeDep,
                 body: HolderHistoryIn | None = None) -> list[HolderEvent] | Response:
    """With a holder session, the partners that verified or redeemed the card. Card data (number,
    date of birth, issue number) alone is refused, throttled and audited, as before."""
    token = holder_token(request)
    if token is not None and token.startswith(codes.TOKEN_PREFIX):
        context = codes.resolve_session(session, desk=runtime.holder, token=token)
        return holder.card_history(session, desk=runtime.holder, context=context)
    return app_error_response(history.holder_history(
        session, desk=runtime.cards, limiter=runtime.limiter,
        limit=runtime.holder_history_limit, client=client_address(request),
        card_number=body.card_number if body else None))


@router.post("/card/lock", response_model=HolderOverview)
def lock_card(context: HolderDep, session: SessionDep, runtime: RuntimeDep) -> HolderOverview:
    """Suspends the card at once as reported lost; verification refuses it from now on."""
    return holder.lock_card(session, desk=runtime.holder, context=context)


@router.post("/card/replace", response_model=HolderOverview)
def replace_card(context: HolderDep, session: SessionDep,
                 runtime: RuntimeDep) -> HolderOverview:
    return holder.request_replacement(session, desk=runtime.holder, context=context)


@router.post("/card/renew", response_model=HolderOverview)
def renew_card(context: HolderDep, session: SessionDep, runtime: RuntimeDep) -> HolderOverview:
    return holder.request_renewal(session, desk=runtime.holder, context=context)


@router.post("/contacts/{channel}", response_model=ContactCodeOut, status_code=202)
def change_contact(channel: Channel, body: ContactIn, context: HolderDep, session: SessionDep,
                   runtime: RuntimeDep, accept_language: AcceptLanguage = None) -> ContactCodeOut:
    """A code goes to the new contact first; the change is made when it is confirmed."""
    return holder.start_contact_change(session, desk=runtime.holder, context=context,
                                       channel=channel, value=body.value,
                                       lang=i18n.negotiate(accept_language, body.lang))


@router.post("/contacts/{channel}/confirm", response_model=HolderOverview,
             responses={422: {"description": "code_not_accepted"}})
def confirm_contact(channel: Channel, body: CodeIn, context: HolderDep, session: SessionDep,
                    runtime: RuntimeDep,
                    accept_language: AcceptLanguage = None) -> HolderOverview | Response:
    return _answer(holder.confirm_contact_change(
        session, desk=runtime.holder, context=context, channel=channel, code=body.code,
        lang=i18n.negotiate(accept_language, body.lang)))


@router.delete("/contacts/{channel}", response_model=HolderOverview)
def remove_contact(channel: Channel, context: HolderDep, session: SessionDep,
                   runtime: RuntimeDep) -> HolderOverview:
    return holder.remove_contact(session, desk=runtime.holder, context=context, channel=channel)


@router.put("/notifications/{kind}", response_model=HolderOverview)
def choose_notice(kind: str, body: ChoiceIn, context: HolderDep, session: SessionDep,
                  runtime: RuntimeDep) -> HolderOverview:
    return holder.set_notice_choice(session, desk=runtime.holder, context=context, kind=kind,
                                    opted_in=body.opted_in)
