"""The partner rate limits at O(1) a hit: GCRA in process, one fixed-window ``INCR`` in Redis.

`limits`' in-memory moving window (cityid.ratelimit) inserts into a list per hit and starts a
timer thread to sweep every key; on the partner hot path that cost more than the verification
itself. The generic cell rate algorithm keeps one number per key, the time the next request is
"due": a limit of N per period lets N through at once, then one every period/N. With Redis
(``CITYID_REDIS_URL``), processes share the count through `limits`' fixed window, one ``INCR``
and its expiry per hit.

A hit is counted when it is allowed and only then, atomically, before the work, as
``RateLimiter.consume`` does."""

from __future__ import annotations

import math
import threading
import time

from limits import storage, strategies

from cityid.errors import Throttled
from cityid.ratelimit import Limit

# Keys whose due time has passed are the same as absent; they are swept every this many hits,
# so memory follows the keys seen within a period, not every address ever seen.
SWEEP_EVERY = 10_000


class PartnerLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self._shared = None
        if not storage_uri.startswith("memory://"):
            self._storage = storage.storage_from_string(storage_uri)
            self._shared = strategies.FixedWindowRateLimiter(self._storage)
        self._due: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def reserve(self, limit: Limit, key: str) -> int | None:
        """Count one event now; None if within the limit, else the seconds to wait (and
        nothing was counted)."""
        if self._shared is not None:
            if self._shared.hit(limit.item, key):
                return None
            stats = self._shared.get_window_stats(limit.item, key)
            return max(1, math.ceil(stats.reset_time - time.time()))
        interval = limit.seconds / limit.amount
        tolerance = limit.seconds - interval
        now = time.monotonic()
        slot = (limit.scope, key)
        with self._lock:
            due = max(self._due.get(slot, now), now)
            if due - tolerance > now:
                return max(1, math.ceil(due - tolerance - now))
            self._due[slot] = due + interval
            self._hits += 1
            if self._hits % SWEEP_EVERY == 0:
                self._due = {k: v for k, v in self._due.items() if v > now}
        return None

    def consume(self, limit: Limit, key: str, error: type[Throttled] = Throttled) -> None:
        wait = self.reserve(limit, key)
        if wait is not None:
            raise error(retry_after=wait)

    def reset(self) -> None:
        with self._lock:
            self._due.clear()
        if self._shared is not None:
            self._storage.reset()
