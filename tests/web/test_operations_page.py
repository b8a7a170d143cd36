"""The operating numbers page: the chart and tables, small cells withheld."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from tests.web.conftest import SignIn, new_application

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(NOW)


def test_the_page_charts_the_weeks_and_withholds_small_cells(
        runtime: Runtime, browser_client: TestClient, sign_in: SignIn, clock: Clock) -> None:
    assert isinstance(clock, FixedClock)
    clock.set(NOW - timedelta(days=7))
    for n in range(3):
        new_application(runtime, first_name=f"Weekly{n}")
    clock.set(NOW)
    sign_in(browser_client, "auditor")
    page = browser_client.get("/admin/operations")
    assert page.status_code == 200
    assert 'id="operations-chart"' in page.text
    states = page.text[page.text.index('id="states"'):]
    assert "draft" in states and "fewer than 10" in states
    assert "Weekly" not in page.text
    assert browser_client.get("/admin/operations").status_code == 200
