"""`cityid serve --workers 2` logs from every worker, one JSON document a line, tracebacks
included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api.runtime import Runtime
from cityid.settings import Settings
from tests.deploy.servers import cityid_serve, request

HEALTH_CHECKS = 30


@contextmanager
def table_renamed(runtime: Runtime, table: str) -> Iterator[None]:
    """The table is missing for a while, so a route that reads it fails with an error the
    app does not expect."""
    with runtime.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with runtime.engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def served_log(settings: Settings, runtime: Runtime, tmp_path: Path) -> list[str]:
    with cityid_serve(settings, tmp_path, workers=2) as app:
        for _ in range(HEALTH_CHECKS):
            assert request(app.port, "GET", "/healthz")[0] == 200
        with table_renamed(runtime, "applications"):
            failed = request(app.port, "POST", "/v1/status", body=json.dumps(
                {"reference": "NOPE0001", "date_of_birth": "1990-01-01"}).encode(),
                headers={"Content-Type": "application/json"})[0]
        assert failed == 500
    return [line for line in app.log.read_text().splitlines() if line.strip()]


def test_every_worker_logs_requests_and_tracebacks_as_json_lines(
        settings: Settings, runtime: Runtime, tmp_path: Path) -> None:
    lines = served_log(settings, runtime, tmp_path)
    records: list[dict[str, Any]] = []
    plain: list[str] = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            plain.append(line)

    requests = [r for r in records if r["event"] == "request"]
    assert sum(r["route"] == "/healthz" and r["status"] == 200
               for r in requests) >= HEALTH_CHECKS
    assert any(r["route"] == "/v1/status" and r["status"] == 500 for r in requests)
    started = {r["pid"] for r in records if r["event"] == "Application startup complete."}
    assert len(started) == 2, "each of the two workers logs through the JSON setup"
    assert {r["pid"] for r in requests} <= started
    errors = [r for r in records if r.get("exc_type")]
    assert errors, "the failed request's traceback is in a JSON record"
    assert all(r["stack"] and r["level"] == "error" for r in errors)
    assert not plain, f"lines that are not JSON: {plain[:5]}"
