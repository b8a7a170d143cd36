"""The status check's throttles and its equal work: failures are throttled with their slot taken
before any work, successes have a higher limit of their own, and an unknown reference costs the
same reads, unwrap and decryption as a right reference with a wrong date of birth."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import event

from api.runtime import Runtime
from enrollment import repository as enrollment_repository
from privacy import repository as privacy_repository
from privacy import vault as vault_module
from tests.factories import KNOWN_DOB, application_body

Headers = dict[str, str]
WRONG_DOB = "1990-01-01"
ATTEMPTS = 40


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The failure limit per reference stays at its default (5).
    return {"status_checks_per_client": 25, "status_successes_per_reference": 15}


@pytest.fixture
def reference(client: TestClient, auth_header: Callable[[str], Headers]) -> str:
    response = client.post("/v1/applications", headers=auth_header("clerk"),
                           json=application_body())
    return str(response.json()["reference"])


def check(client: TestClient, reference: str, dob: str = KNOWN_DOB.isoformat()) -> httpx.Response:
    response: httpx.Response = client.post("/v1/status",
                                           json={"reference": reference, "date_of_birth": dob})
    return response


def test_ten_successful_checks_all_answer_and_six_wrong_birth_dates_are_throttled(
        client: TestClient, reference: str, runtime: Runtime) -> None:
    assert runtime.settings.status_checks_per_reference == 5
    assert [check(client, reference).status_code for _ in range(10)] == [200] * 10
    wrong = [check(client, reference, WRONG_DOB) for _ in range(6)]
    assert [r.status_code for r in wrong] == [404] * 5 + [429]
    assert wrong[-1].json()["code"] == "status_check_throttled"
    assert check(client, reference).status_code == 429  # the right date waits now too


def test_successful_checks_have_a_higher_limit_of_their_own(
        client: TestClient, reference: str, runtime: Runtime) -> None:
    successes = runtime.settings.status_successes_per_reference
    assert successes > runtime.settings.status_checks_per_reference
    assert [check(client, reference).status_code for _ in range(successes)] == [200] * successes
    throttled = check(client, reference)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0


class Counted:
    """Counts calls. The pause stands in for a busy service, so concurrent checks overlap as
    they do in production; nothing is decided by time."""

    def __init__(self, wrapped: Callable[..., Any], pause: float = 0.0) -> None:
        self.wrapped, self.pause, self.calls, self.lock = wrapped, pause, 0, threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.calls += 1
        time.sleep(self.pause)
        return self.wrapped(*args, **kwargs)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    counted = Counted(enrollment_repository.application_by_reference_index, pause=0.05)
    monkeypatch.setattr(enrollment_repository, "application_by_reference_index", counted)
    # A read of the count takes a round trip with Redis: between reading it and counting, the
    # other checks run. A throttle that reads first and counts later lets them all through.
    read = MovingWindowRateLimiter.test

    def slow_read(self: MovingWindowRateLimiter, *args: Any, **kwargs: Any) -> bool:
        time.sleep(0.05)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(MovingWindowRateLimiter, "test", slow_read)
    yield counted


def all_at_once(count: int, send: Callable[[int], httpx.Response]) -> list[int]:
    barrier = threading.Barrier(count)

    def one(i: int) -> int:
        barrier.wait()
        return send(i).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_wrong_birth_dates_evaluate_at_most_the_limit(
        client: TestClient, reference: str, runtime: Runtime, lookups: Counted) -> None:
    statuses = all_at_once(ATTEMPTS, lambda _: check(client, reference, WRONG_DOB))
    limit = runtime.settings.status_checks_per_reference
    assert lookups.calls == limit
    assert sorted(statuses) == [404] * limit + [429] * (ATTEMPTS - limit)


def test_concurrent_checks_from_one_client_evaluate_at_most_its_limit(
        client: TestClient, runtime: Runtime, lookups: Counted) -> None:
    statuses = all_at_once(ATTEMPTS, lambda i: check(client, f"{i:04d}-0000-0000"))
    limit = runtime.settings.status_checks_per_client
    assert lookups.calls == limit
    assert sorted(statuses) == [404] * limit + [429] * (ATTEMPTS - limit)


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> Iterator[Counter[str]]:
    """What one check does: each read, unwrap and decryption, and each SQL statement."""
    seen: Counter[str] = Counter()

    def spy(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)

    spy(enrollment_repository, "get_resident")
    spy(privacy_repository, "get_data_key")
    spy(vault_module, "unwrap_dek")
    spy(vault_module.RecordCipher, "open")

    def statement(*_: Any) -> None:
        # The audit chainer links entries on its own thread and schedule: its statements are
        # not the check's work, and counting them made the comparison depend on timing.
        if threading.current_thread().name != "audit-chainer":
            seen["sql"] += 1

    event.listen(runtime.engine, "before_cursor_execute", statement)
    yield seen
    event.remove(runtime.engine, "before_cursor_execute", statement)


def test_an_unknown_reference_does_the_same_work_as_a_wrong_birth_date(
        client: TestClient, reference: str, work: Counter[str]) -> None:
    done: dict[str, Counter[str]] = {}
    for name, (ref, dob) in {"wrong birth date": (reference, WRONG_DOB),
                             "unknown reference": ("0000-0000-0000", WRONG_DOB),
                             "malformed reference": ("not a reference", WRONG_DOB)}.items():
        work.clear()
        assert check(client, ref, dob).status_code == 404
        done[name] = Counter(work)
    expected = Counter({"get_resident": 1, "get_data_key": 1, "unwrap_dek": 1, "open": 1})
    assert all(+(seen - Counter({"sql": seen["sql"]})) == expected for seen in done.values()), done
    assert len({seen["sql"] for seen in done.values()}) == 1, done
