"""API keys cached in process for the hot path, dropped the moment PostgreSQL says a key or a
partner changed.

Migration 0014's triggers send ``NOTIFY cityid_partner_keys`` from the transaction that revokes
a key, changes its expiry or changes a partner (deactivation, a narrower policy), so the
notification is delivered at that commit, to every process listening. Each process runs one
listener thread; while it is not connected and listening, the cache is not used at all (every
lookup goes to the database), and whenever it connects again, everything cached is dropped: a
notification missed while it was away can't leave a revoked key working.

Expiry by the clock needs no notification: an entry keeps the key's ``expires_at`` and the hot
path checks it on every request."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from partners.service import PartnerAccess
from redemption.hot_repository import LISTENER_NAME, KeyRow

log = logging.getLogger("cityid.key_cache")
CHANNEL = "cityid_partner_keys"
# How often the listener proves its connection alive when nothing is said on it: a connection
# cut without a word (a network partition) is noticed within this long, and the cache dropped.
PING_SECONDS = 0.5
RETRY_SECONDS = 1.0


@dataclass
class CachedKey:
    row: KeyRow
    access: PartnerAccess
    # When this process last wrote last_used_at (or found it written); touched once a minute.
    touched_at: datetime | None = field(default=None)


class KeyCache:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._entries: dict[str, CachedKey] = {}
        self._generation = 0
        self._lock = threading.Lock()  # put and drop_all, between the loop and the listener
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def generation(self) -> int:
        """Taken before a database lookup and given to :meth:`put`: a lookup that raced an
        invalidation does not put what it read back into the cache."""
        return self._generation

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def get(self, key_hash: str) -> CachedKey | None:
        if not self._listening.is_set():
            return None
        return self._entries.get(key_hash)

    def put(self, key_hash: str, entry: CachedKey, generation: int) -> None:
        with self._lock:
            if self._listening.is_set() and generation == self._generation:
                self._entries[key_hash] = entry

    def drop_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="key-cache-listener",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._listening.clear()
        self.drop_all()

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True,
                                     application_name=LISTENER_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.drop_all()
                    self._listening.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=PING_SECONDS):
                            self.drop_all()
                        conn.execute("SELECT 1")
            except psycopg.Error as exc:
                log.warning("key_cache.listener_lost", extra={"error": type(exc).__name__})
            # Lost (or stopping): nothing cached may be trusted until listening again.
            self._listening.clear()
            self.drop_all()
            if not self._stop.is_set():
                time.sleep(RETRY_SECONDS)
