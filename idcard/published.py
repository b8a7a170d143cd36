"""What an offline verifier downloads from an issuer, and keeps: the key set
(``/.well-known/cityid/jwks.json``) and the status list (``/.well-known/cityid/status-list``).

Each document is cached in a folder of the verifier's own (a user cache directory, never an
installation's ``var/``) with when it was fetched and how long the issuer said it may be kept
(``Cache-Control: max-age``). A fresh copy is used as is; a stale one is fetched again, and if
the issuer cannot be reached the stale copy is still used and reported as stale. Whether a
status list may still be trusted is not decided here: the verifier checks the list's own
signed ``validUntil``.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

JWKS_PATH = "/.well-known/cityid/jwks.json"
STATUS_LIST_PATH = "/.well-known/cityid/status-list"
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age=(\d+)\s*(?:,|$)")
_LOOPBACK_NAMES = frozenset({"localhost"})


class PublishedError(Exception):
    """A document could not be had; the message is one line for the person at the desk."""


@dataclass(frozen=True)
class Published:
    name: str
    url: str
    body: bytes
    fetched_at: datetime
    max_age: timedelta
    from_cache: bool
    refresh_failed: str | None = None  # why a stale copy is in use, when it is

    def age(self, now: datetime) -> timedelta:
        return now - self.fetched_at

    def is_fresh(self, now: datetime) -> bool:
        return self.age(now) < self.max_age


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cityid"


def check_issuer_url(url: str) -> str:
    """The issuer's base URL. HTTPS only, except plain HTTP to this machine (for testing a
    local installation): a key set fetched in the clear could be anyone's."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PublishedError(f"the issuer must be an https:// URL, not {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise PublishedError("the issuer must be reached over https:// "
                             "(plain http only for localhost)")
    if parts.query or parts.fragment:
        raise PublishedError("the issuer URL takes no query or fragment")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _max_age(cache_control: str | None) -> timedelta:
    match = _MAX_AGE.search((cache_control or "").lower())
    if match is None or "no-store" in (cache_control or "").lower():
        return timedelta(0)
    return timedelta(seconds=int(match.group(1)))


def _folder(cache_dir: Path, issuer: str) -> Path:
    return cache_dir / hashlib.sha256(issuer.encode()).hexdigest()[:24]


def _read_cached(folder: Path, name: str, url: str) -> Published | None:
    try:
        meta = json.loads((folder / f"{name}.meta.json").read_text())
        body = (folder / name).read_bytes()
        if meta["url"] != url:
            return None
        return Published(name, url, body, datetime.fromisoformat(meta["fetched_at"]),
                          timedelta(seconds=float(meta["max_age_seconds"])), from_cache=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no copy, or one we cannot trust to be whole: fetch it


def _write_cached(folder: Path, document: Published) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in ((folder / document.name, document.body),
                       (folder / f"{document.name}.meta.json", json.dumps({
                           "url": document.url, "fetched_at": document.fetched_at.isoformat(),
                           "max_age_seconds": document.max_age.total_seconds()}).encode())):
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)


def _download(url: str, now: datetime) -> tuple[bytes, timedelta]:
    request = urllib.request.Request(url, headers={"Accept": "*/*",  # noqa: S310 - checked scheme
                                                   "User-Agent": "cityid-verify"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(MAX_DOCUMENT_BYTES + 1)
            cache_control = response.headers.get("Cache-Control")
    except urllib.error.HTTPError as exc:
        raise PublishedError(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PublishedError(f"could not reach {url} ({reason})") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise PublishedError(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body, _max_age(cache_control)


def fetch(issuer: str, name: str, path: str, *, cache_dir: Path, now: datetime,
          refresh: bool = False) -> Published:
    """One published document: the cached copy while it is fresh, else a new download, else
    (the issuer unreachable) the stale copy with the reason."""
    base = check_issuer_url(issuer)
    url = base + path
    folder = _folder(cache_dir, base)
    cached = _read_cached(folder, name, url)
    if cached is not None and not refresh and cached.is_fresh(now):
        return cached
    try:
        body, max_age = _download(url, now)
    except PublishedError as exc:
        if cached is None:
            raise
        return Published(cached.name, url, cached.body, cached.fetched_at, cached.max_age,
                         from_cache=True, refresh_failed=str(exc))
    document = Published(name, url, body, now, max_age, from_cache=False)
    with contextlib.suppress(OSError):  # a read-only home still verifies, downloading each time
        _write_cached(folder, document)
    return document


def fetch_issuer(issuer: str, *, cache_dir: Path, now: datetime | None = None,
                 refresh: bool = False) -> tuple[Published, Published]:
    """The key set and the status list of ``issuer``."""
    now = now or datetime.now(UTC)
    return (fetch(issuer, "jwks.json", JWKS_PATH, cache_dir=cache_dir, now=now, refresh=refresh),
            fetch(issuer, "status-list", STATUS_LIST_PATH, cache_dir=cache_dir, now=now,
                  refresh=refresh))


def describe_age(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
