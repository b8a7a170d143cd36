"""Fixtures the lean-route tests share: an admin's headers, and a second app on the same
runtime and database with the lean routes off (the normal route, to compare against)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import Runtime
from cityid.settings import Settings
from tests.redemption.helpers import Headers


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


@pytest.fixture
def normal_client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    off = settings.model_copy(update={"hot_path": False})
    with TestClient(create_app(off, runtime), raise_server_exceptions=False) as client:
        yield client
