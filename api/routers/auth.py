from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.deps import PrincipalDep, RuntimeDep, SessionDep, client_address
from api.errors import app_error_response
from cityid.roles import Role
from staff import service as staff_service
from staff.errors import InvalidCredentials
from staff.schemas import SignIn, StaffOut, TokenOut

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses={401: {"description": "Refused"}})
def sign_in(body: SignIn, request: Request, session: SessionDep,
            runtime: RuntimeDep) -> TokenOut | Response:
    try:
        token = staff_service.sign_in(
            session, username=body.username, password=body.password,
            client=client_address(request), limiter=runtime.limiter,
            policy=runtime.sign_in_policy, ttl=runtime.token_ttl, clock=runtime.clock,
            second_factor=body.second_factor, vault=runtime.vault)
    except InvalidCredentials as exc:
        # Answered, not raised, so the request's transaction commits the failure's audit entry.
        return app_error_response(exc)
    return TokenOut(access_token=token.value, expires_at=token.expires_at, role=token.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(principal: PrincipalDep, session: SessionDep, runtime: RuntimeDep) -> None:
    assert principal.token is not None
    staff_service.sign_out(session, actor=principal.actor, value=principal.token,
                           clock=runtime.clock)


@router.get("/me", response_model=StaffOut)
def me(principal: PrincipalDep, session: SessionDep) -> StaffOut:
    account = staff_service.get_account(session, principal.id)
    return StaffOut(id=account.id, username=account.username, role=Role(account.role),
                    active=account.active, created_at=account.created_at)
