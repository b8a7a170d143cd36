"""The partner limiter: N at once, then one every period/N; a refusal counts nothing; keys and
scopes apart; the same with Redis."""

from __future__ import annotations

import os
import uuid

import pytest

from cityid.errors import Throttled
from cityid.gcra import PartnerLimiter
from cityid.ratelimit import Limit


def test_a_burst_of_the_limit_passes_then_the_next_waits() -> None:
    limiter = PartnerLimiter()
    limit = Limit("partner:key", 3, 60)
    assert [limiter.reserve(limit, "k") for _ in range(3)] == [None, None, None]
    wait = limiter.reserve(limit, "k")
    assert wait is not None and 1 <= wait <= 20  # one slot frees every 20 seconds
    assert limiter.reserve(limit, "other") is None
    assert limiter.reserve(Limit("partner:client", 3, 60), "k") is None
    with pytest.raises(Throttled):
        limiter.consume(limit, "k")


def test_a_refused_hit_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("cityid.gcra.time.monotonic", lambda: now[0])
    limiter = PartnerLimiter()
    limit = Limit("partner:key", 2, 60)
    assert limiter.reserve(limit, "k") is None and limiter.reserve(limit, "k") is None
    for _ in range(100):
        assert limiter.reserve(limit, "k") is not None
    now[0] += 30.0  # one emission interval later, exactly one more goes through
    assert limiter.reserve(limit, "k") is None
    assert limiter.reserve(limit, "k") is not None


@pytest.mark.skipif(not os.environ.get("CITYID_TEST_REDIS_URL"),
                    reason="set CITYID_TEST_REDIS_URL to test the shared count")
def test_with_redis_processes_share_one_count() -> None:
    url = os.environ["CITYID_TEST_REDIS_URL"]
    limit = Limit(f"partner:key:{uuid.uuid4().hex}", 2, 60)
    one, two = PartnerLimiter(url), PartnerLimiter(url)
    assert one.reserve(limit, "k") is None and two.reserve(limit, "k") is None
    assert one.reserve(limit, "k") is not None
