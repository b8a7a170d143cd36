"""Rate limits through the `limits` package: in memory by default, Redis when
``CITYID_REDIS_URL`` is set, so several API processes share one count.

A throttle that guards work (a password hash, a decryption, an answer that tells right from
wrong) takes its slot with :meth:`RateLimiter.reserve` *before* the work: `limits` counts a hit
atomically, so N concurrent attempts can never all find the count below the limit, as a test
followed later by a hit can."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond, storage, strategies

from cityid.errors import Throttled


@dataclass(frozen=True)
class Limit:
    """``amount`` events per ``seconds``, named by ``scope`` (e.g. "login:user")."""

    scope: str
    amount: int
    seconds: int

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.amount, self.seconds, namespace=self.scope)


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self._storage = storage.storage_from_string(storage_uri)
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)

    def retry_after(self, limit: Limit, key: str) -> int | None:
        """Seconds to wait if ``key`` has used up ``limit``; None if it may go on."""
        if self._limiter.test(limit.item, key):
            return None
        stats = self._limiter.get_window_stats(limit.item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def check(self, limit: Limit, key: str, error: type[Throttled] = Throttled) -> None:
        wait = self.retry_after(limit, key)
        if wait is not None:
            raise error(retry_after=wait)

    def reserve(self, limit: Limit, key: str) -> int | None:
        """Count one event now, atomically; None if it was within the limit, else the seconds
        to wait (and nothing was counted)."""
        if self._limiter.hit(limit.item, key):
            return None
        stats = self._limiter.get_window_stats(limit.item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def hit(self, limit: Limit, key: str) -> bool:
        """Count one event; False if the limit was already reached."""
        return bool(self._limiter.hit(limit.item, key))

    def consume(self, limit: Limit, key: str, error: type[Throttled] = Throttled) -> None:
        """Count one event, refusing it if the limit is reached."""
        wait = self.reserve(limit, key)
        if wait is not None:
            raise error(retry_after=wait)

    def clear(self, limit: Limit, key: str) -> None:
        self._limiter.clear(limit.item, key)

    def reset(self) -> None:
        self._storage.reset()
