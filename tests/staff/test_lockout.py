"""Wrong passwords are throttled per account and client, so a stranger's guesses can't keep a
staff member out of their own desk; a slower account-wide count catches a guesser spread over
many clients without touching the clients the holder signed in from."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.runtime import Runtime
from cityid.db import unit_of_work
from staff import service
from staff.errors import InvalidCredentials, SignInThrottled
from tests.conftest import STAFF_PASSWORD


def _attempt(runtime: Runtime, username: str, client: str,
             password: str = STAFF_PASSWORD) -> str:
    try:
        with unit_of_work(runtime.sessions) as session:
            service.sign_in(session, username=username, password=password, client=client,
                            limiter=runtime.limiter, policy=runtime.sign_in_policy,
                            ttl=runtime.token_ttl, clock=runtime.clock, vault=runtime.vault)
    except SignInThrottled:
        return "throttled"
    except InvalidCredentials:
        return "refused"
    return "signed_in"


def test_a_strangers_wrong_guesses_do_not_keep_the_owner_out(
        runtime: Runtime, make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    for _ in range(runtime.settings.login_max_failures):
        assert _attempt(runtime, username, "198.51.100.66", "a wrong guess!!") == "refused"
    # The stranger's own client is throttled, even with the right password...
    assert _attempt(runtime, username, "198.51.100.66") == "throttled"
    # ...while the owner, at their desk, signs in as usual.
    assert _attempt(runtime, username, "10.0.0.21") == "signed_in"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"login_max_attempts_per_account": 6}


def test_the_account_wide_count_spares_the_owners_usual_client(
        runtime: Runtime, make_staff: Callable[..., str]) -> None:
    username = make_staff("clerk")
    assert _attempt(runtime, username, "10.0.0.21") == "signed_in"  # the owner's desk
    # A guesser rotating through clients: each stays under its own limit, together they
    # reach the account-wide one.
    for n in range(5):
        assert _attempt(runtime, username, f"198.51.100.{n}", "a wrong guess!!") == "refused"
    assert _attempt(runtime, username, "198.51.100.200", "a wrong guess!!") == "throttled"
    assert _attempt(runtime, username, "198.51.100.201") == "throttled"
    # The desk the owner signed in from is not counted against the account-wide limit.
    assert _attempt(runtime, username, "10.0.0.21") == "signed_in"
