"""A lost reference found at the desk from the applicant's name and date of birth, on SQLite and
PostgreSQL: through the duplicate check's blind index (nothing decrypted to search), audited
without the name, throttled per staff account, refused to partners, and answered by no public
or holder route."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import all_rules
from api.runtime import Runtime
from privacy.vault import Vault
from tests.enrollment.test_workflow import create
from tests.factories import KNOWN_DOB, KNOWN_FIRST, KNOWN_LAST, audit_trail

Headers = dict[str, str]
PER_HOUR = 4


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"reference_lookups_per_staff_per_hour": PER_HOUR}


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


def lookup(client: TestClient, headers: Headers, *, first: str = KNOWN_FIRST,
           last: str = KNOWN_LAST, born: str = KNOWN_DOB.isoformat()) -> Any:
    return client.post("/v1/reference-lookups", headers=headers,
                       json={"first_name": first, "last_name": last, "date_of_birth": born})


def test_a_clerk_finds_the_reference_from_the_name_and_date_of_birth(
        client: TestClient, clerk: Headers) -> None:
    ref = create(client, clerk)["reference"]
    create(client, clerk, first_name="Someone", last_name="Else")
    # Case, accents, spacing and hyphens are normalised as the duplicate check does.
    found = lookup(client, clerk, first=KNOWN_FIRST.upper(),
                   last=KNOWN_LAST.replace("-", " ").replace("e", "é"))
    assert found.status_code == 200, found.text
    assert [(f["reference"], f["status"]) for f in found.json()["found"]] == [(ref, "draft")]


def test_a_wrong_date_of_birth_or_name_finds_nothing(client: TestClient, clerk: Headers) -> None:
    create(client, clerk)
    for query in ({"born": (KNOWN_DOB + timedelta(days=1)).isoformat()},
                  {"first": "Zephyrina"}):
        found = lookup(client, clerk, **query)
        assert found.status_code == 200, found.text
        assert found.json() == {"found": []}


def test_the_lookup_opens_only_the_references_it_found(
        client: TestClient, clerk: Headers, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = create(client, clerk)["reference"]
    for n in range(3):
        create(client, clerk, first_name=f"Other{n}")
    opened: list[str] = []
    real = Vault.open_fields

    def counting(self: Vault, session: Any, row: Any, *fields: str) -> Any:
        opened.append(type(row).__tablename__)
        return real(self, session, row, *fields)

    monkeypatch.setattr(Vault, "open_fields", counting)
    found = lookup(client, clerk)
    assert [f["reference"] for f in found.json()["found"]] == [ref]
    # One application's reference; no resident's name or date of birth was decrypted.
    assert opened == ["applications"]


def test_a_lookup_is_audited_with_a_count_and_the_application_never_the_name(
        client: TestClient, clerk: Headers, runtime: Runtime) -> None:
    create(client, clerk)
    assert lookup(client, clerk).status_code == 200
    assert lookup(client, clerk, born="1990-01-01").status_code == 200
    entries = audit_trail(runtime)
    lookups = [e for e in entries if e.action == "application.reference_lookup"]
    assert [(e.role, e.detail, e.subject) for e in lookups] == [
        ("clerk", {"found": 1}, None), ("clerk", {"found": 0}, None)]
    found = [e for e in entries if e.action == "application.reference_found"]
    created = [e for e in entries if e.action == "application.created"]
    assert len(found) == 1 and found[0].subject == created[0].subject
    trail = " ".join(str((e.subject, e.purpose, e.detail)) for e in entries).casefold()
    for value in (KNOWN_FIRST, KNOWN_LAST, KNOWN_DOB.isoformat(), "zephyrine|"):
        assert value.casefold() not in trail


def test_lookups_are_throttled_per_staff_account(client: TestClient, clerk: Headers,
                                                 auth_header: Callable[[str], Headers]) -> None:
    for _ in range(PER_HOUR):
        assert lookup(client, clerk).status_code == 200
    refused = lookup(client, clerk)
    assert refused.status_code == 429
    assert refused.json()["code"] == "reference_lookup_throttled"
    assert int(refused.headers["retry-after"]) > 0
    assert lookup(client, auth_header("clerk")).status_code == 200  # another account


@pytest.mark.parametrize("role", ["partner_desk", "partner_admin", "auditor", "admin"])
def test_partners_and_roles_off_the_desk_cannot_look_up(
        role: str, client: TestClient, clerk: Headers,
        auth_header: Callable[[str], Headers]) -> None:
    ref = create(client, clerk)["reference"]
    refused = lookup(client, auth_header(role))
    assert refused.status_code == 403
    assert ref not in refused.text


def test_without_sign_in_the_lookup_is_refused(client: TestClient, clerk: Headers) -> None:
    create(client, clerk)
    assert lookup(client, {}).status_code == 401
    partner_key = {"Authorization": "Bearer cpk_0123456789abcdef_notakey"}
    assert lookup(client, partner_key).status_code in (401, 403)


def test_the_rule_names_only_the_desk() -> None:
    rules = all_rules()
    for route in (("POST", "/v1/reference-lookups"), ("GET", "/clerk/lookup"),
                  ("POST", "/clerk/lookup")):
        rule = rules[route]
        assert not rule.public and not rule.holder and rule.roles == {"clerk", "supervisor"}


def test_no_public_or_holder_route_answers_a_name_and_date_of_birth(
        client: TestClient, clerk: Headers) -> None:
    """Every route open without a staff account, sent the name and date of birth every way a
    form or API could take them: none gives the reference back."""
    ref = create(client, clerk)["reference"]
    name = {"first_name": KNOWN_FIRST, "last_name": KNOWN_LAST,
            "date_of_birth": KNOWN_DOB.isoformat(), "name": f"{KNOWN_FIRST} {KNOWN_LAST}"}
    open_routes = sorted(route for route, rule in all_rules().items()
                         if rule.public or rule.holder)
    assert ("POST", "/v1/status") in open_routes and ("GET", "/me") in open_routes
    for method, path in open_routes:
        url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
        if method == "GET":
            responses = [client.get(url, params=name)]
        else:
            responses = [client.request(method, url, json=name),
                         client.request(method, url, data=name)]
        for response in responses:
            assert ref not in response.text, (method, path)
            assert ref.replace("-", "") not in response.text, (method, path)
