"""Second-factor enrolment, password changes and resets, and one's own sessions.

Enrolment and a password change take the username and password (and, for a change, the
second factor) rather than a bearer token: an account that must enrol, or must replace a reset
password, cannot sign in yet. They go through the sign-in throttle like a sign-in."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep, client_address
from api.errors import app_error_response
from staff import credentials, password_life
from staff import second_factor as second_factors
from staff import service as staff_service
from staff.errors import InvalidCredentials
from staff.models import StaffAccount
from staff.security_schemas import (
    Credentials,
    EnrolmentConfirm,
    EnrolmentOut,
    PasswordChange,
    PasswordReset,
    RecoveryCodesOut,
    SessionOut,
)

router = APIRouter(tags=["auth"])
REFUSED: dict[int | str, dict[str, Any]] = {401: {"description": "Refused"}}


def _authenticate(body: Credentials, request: Request, session: SessionDep,
                  runtime: RuntimeDep) -> StaffAccount:
    return credentials.authenticate(session, username=body.username, password=body.password,
                                    client=client_address(request), limiter=runtime.limiter,
                                    policy=runtime.sign_in_policy, clock=runtime.clock)


@router.post("/v1/auth/second-factor/enrolment", response_model=EnrolmentOut, responses=REFUSED)
def start_enrolment(body: Credentials, request: Request, session: SessionDep,
                    runtime: RuntimeDep) -> EnrolmentOut | Response:
    try:
        account = _authenticate(body, request, session, runtime)
    except InvalidCredentials as exc:
        # Answered, not raised, so the request's transaction commits the failure's audit entry.
        return app_error_response(exc)
    enrolment = second_factors.start_enrolment(session, vault=runtime.vault, account=account,
                                               clock=runtime.clock)
    return EnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri,
                        qr_svg=enrolment.qr_svg)


@router.post("/v1/auth/second-factor/confirmation", response_model=RecoveryCodesOut,
             responses=REFUSED)
def confirm_enrolment(body: EnrolmentConfirm, request: Request, session: SessionDep,
                      runtime: RuntimeDep) -> RecoveryCodesOut | Response:
    try:
        account = _authenticate(body, request, session, runtime)
    except InvalidCredentials as exc:
        return app_error_response(exc)
    codes = second_factors.confirm_enrolment(session, vault=runtime.vault, account=account,
                                             code=body.code, clock=runtime.clock)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/v1/auth/recovery-codes", response_model=RecoveryCodesOut)
def renew_recovery_codes(principal: PrincipalDep, session: SessionDep,
                         runtime: RuntimeDep) -> RecoveryCodesOut:
    account = staff_service.get_account(session, principal.id)
    return RecoveryCodesOut(recovery_codes=second_factors.new_recovery_codes(
        session, account=account, clock=runtime.clock))


@router.post("/v1/auth/password", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
def change_password(body: PasswordChange, request: Request, session: SessionDep,
                    runtime: RuntimeDep) -> Response:
    try:
        password_life.change_own_password(
            session, username=body.username, password=body.password,
            new_password=body.new_password, second_factor=body.second_factor,
            vault=runtime.vault, client=client_address(request), limiter=runtime.limiter,
            policy=runtime.sign_in_policy, clock=runtime.clock)
    except InvalidCredentials as exc:
        return app_error_response(exc)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/auth/sessions", response_model=list[SessionOut])
def list_sessions(principal: PrincipalDep, session: SessionDep,
                  runtime: RuntimeDep) -> list[SessionOut]:
    assert principal.token is not None
    return [SessionOut(id=s.id, created_at=s.created_at, last_used_at=s.last_used_at,
                       expires_at=s.expires_at, current=s.current)
            for s in password_life.list_sessions(
                session, staff_id=uuid.UUID(principal.id),
                current_token_hash=staff_service.token_hash(principal.token),
                clock=runtime.clock)]


@router.post("/v1/auth/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT)
def sign_out_everywhere(principal: PrincipalDep, session: SessionDep,
                        runtime: RuntimeDep) -> None:
    password_life.sign_out_everywhere(session, actor=principal.actor, clock=runtime.clock)


@router.post("/v1/staff/{staff_id}/password-reset", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(staff_id: uuid.UUID, body: PasswordReset, principal: PrincipalDep,
                   session: SessionDep, runtime: RuntimeDep) -> None:
    password_life.reset_password(session, actor=principal.actor, staff_id=staff_id,
                                 password=body.password, clock=runtime.clock)


@router.post("/v1/staff/{staff_id}/second-factor/reset", status_code=status.HTTP_204_NO_CONTENT)
def reset_second_factor(staff_id: uuid.UUID, principal: PrincipalDep, session: SessionDep,
                        runtime: RuntimeDep) -> None:
    account = staff_service.get_account(session, staff_id)
    second_factors.reset(session, actor=principal.actor, vault=runtime.vault, account=account,
                         clock=runtime.clock)
