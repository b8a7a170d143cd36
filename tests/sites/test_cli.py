"""`cityid sites slots` makes the slots of every active site, once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.db import unit_of_work
from sites import repository
from tests.appointments.helpers import Headers, make_site


def test_the_slots_command_fills_every_active_site_and_adds_nothing_twice(
        client: TestClient, runtime: Runtime, auth_header: Callable[[str], Headers],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cityid.settings import get_settings
    from entry import cli

    admin = auth_header("admin")
    first = make_site(client, admin, through=None)
    second = make_site(client, admin, through=None, name="Bronx Hub", desks=1)
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(cli.main, ["sites", "slots"])
        again = CliRunner().invoke(cli.main, ["sites", "slots"])
    finally:
        get_settings.cache_clear()
    assert made.exit_code == 0, made.output
    with unit_of_work(runtime.sessions) as session:
        counts = [repository.count_slots(session, uuid.UUID(s["id"])) for s in (first, second)]
    # Six weeks of weekday mornings (9 slot times): 2 desks and 1 desk.
    assert counts[0] == 2 * counts[1] and counts[1] >= 9 * 5 * 5
    assert again.exit_code == 0 and again.output.strip().endswith("0 slots added across 2 sites")
