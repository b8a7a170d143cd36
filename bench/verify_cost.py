"""What one partner verification costs the server, next to a bare FastAPI endpoint.

`verify_load.py` measures throughput, which on a shared 2-core machine swings with whatever else
the host runs. This measures the cost of one request instead, two ways, both in one process that
calls the ASGI apps directly (no sockets, no HTTP parsing, one request at a time):

- CPU time per request, for the real app's ``POST /v1/verify`` (QR, a cultural partner's key,
  PostgreSQL) and for ``verify_load.bare_app``, in alternating rounds; medians and their ratio;
- with ``--profile``, where the CPU of ``POST /v1/verify`` goes: cProfile over a run of
  requests, each function's own time summed into the parts of the work (HTTP and middleware,
  JSON and schema, key cache and rate limits, QR checks, keyed hashes and the audit MAC, the
  database driver, the event loop), as a share and as microseconds per request;
- with ``--instructions``, instructions per request counted by valgrind's callgrind, which does
  not depend on the machine's load: each app runs twice under callgrind, with a small and a large
  number of requests, and the difference is divided by the difference in requests, so start-up
  cancels out.

PostgreSQL's own work is not counted; the client's is not either (there is none).

Run: ``.venv/bin/python bench/verify_cost.py [--rounds 8] [--requests 200] [--instructions]
[--profile]
[--database-url postgresql://postgres@127.0.0.1:5432/postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp

ROOT = Path(__file__).resolve().parent.parent
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


async def call(app: ASGIApp, method: str, path: str, body: dict[str, Any] | None,
               headers: dict[str, str]) -> tuple[int, bytes]:
    """One request straight into an ASGI app; its status and body."""
    raw = json.dumps(body).encode() if body is not None else b""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(raw)).encode()),
                         *((k.lower().encode(), v.encode()) for k, v in headers.items())],
             "state": {}}
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.sleep(3600)  # the app does not read past the body
        return {"type": "http.disconnect"}

    status, chunks = 0, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _apps() -> tuple[Any, Any]:
    from bench.verify_load import bare_app
    from entry.app import create_app

    return create_app(), bare_app()


# With --route redeem, POST /v1/redemptions of this benefit, a fresh Idempotency-Key each time.
ROUTE = {"benefit": None}
_SERIAL = iter(range(10**12))


async def _drive(app: ASGIApp, qrs: list[str], headers: dict[str, str]) -> None:
    benefit = ROUTE["benefit"] if headers else None
    for qr in qrs:
        if benefit is None:
            status, body = await call(app, "POST", "/v1/verify", {"qr": qr}, headers)
        else:
            status, body = await call(app, "POST", "/v1/redemptions",
                                      {"qr": qr, "benefit_id": benefit},
                                      {**headers,
                                       "Idempotency-Key": f"cost-key-{next(_SERIAL):08d}"})
        if status != 200:
            raise RuntimeError(f"the route answered {status}: {body[:200]!r}")


async def _cpu_rounds(fixture: dict[str, Any], rounds: int, requests: int) -> None:
    app, bare = _apps()
    key = {"Authorization": f"Bearer {fixture['key']}"}
    qrs: list[str] = fixture["qrs"]
    async with app.router.lifespan_context(app):
        await _drive(bare, qrs[:100], {})
        await _drive(app, qrs[:100], key)  # warm caches, pools and prepared statements
        ours: list[float] = []
        base: list[float] = []
        for r in range(rounds):
            batch = [qrs[(r * requests + i) % len(qrs)] for i in range(requests)]
            for target, headers, out in ((bare, {}, base), (app, key, ours)):
                started = time.process_time()
                await _drive(target, batch, headers)
                out.append(1000 * (time.process_time() - started) / requests)
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    print(f"CPU per request, median of {rounds} alternating rounds of {requests} "
          "(all of this process's threads):")
    print(f"  bare FastAPI      {statistics.median(base):7.3f} ms")
    print(f"  {_label():<18}{statistics.median(ours):7.3f} ms   "
          f"{statistics.median(ratios):.1f}x bare (per-round ratios "
          f"{min(ratios):.1f}-{max(ratios):.1f})")


# Where a function's own time is counted, by the first pattern its file (or name) matches.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("QR: Base45, zlib, CBOR, COSE, signature", (
        "base45", "zlib", "cbor2", "idcard/", "nacl", "cryptography", "ed25519", "verify")),
    ("keyed hashes, pseudonym, audit MAC", ("privacy/", "hmac", "hashlib", "_hashlib", "sha256")),
    ("database driver (psycopg)", ("psycopg",)),
    ("key cache, rate limits, policy", ("redemption/key_cache", "cityid/gcra", "partners/",
                                        "cityid/ratelimit")),
    ("JSON and the request schema", ("json", "pydantic")),
    ("the lean route and decision", ("api/lean", "redemption/")),
    ("HTTP middleware (guard, log, metrics)", ("api/", "starlette", "prometheus", "logging",
                                               "cityid/")),
    ("event loop and the rest", ("",)),
)


def _label() -> str:
    return "POST /v1/redemptions" if ROUTE["benefit"] else "POST /v1/verify"


def _part(filename: str, name: str) -> str:
    where = f"{filename}:{name}".lower()
    for part, patterns in PARTS:
        if any(p in where for p in patterns):
            return part
    return PARTS[-1][0]


async def _profile(fixture: dict[str, Any], requests: int) -> None:
    import cProfile
    import pstats

    app, _ = _apps()
    key = {"Authorization": f"Bearer {fixture['key']}"}
    qrs: list[str] = fixture["qrs"]
    async with app.router.lifespan_context(app):
        await _drive(app, qrs[:100], key)
        batch = [qrs[i % len(qrs)] for i in range(100, 100 + requests)]
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
        started = time.process_time()
        profiler.enable()
        await _drive(app, batch, key)
        profiler.disable()
        cpu = time.process_time() - started
    stats = pstats.Stats(profiler)
    own: dict[str, float] = {}
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and row[4]:
            # A built-in (divmod, isinstance, a C method) counts where it was called from.
            for (caller_file, _l, caller_name), called in row[4].items():
                part = _part(caller_file, caller_name)
                own[part] = own.get(part, 0.0) + called[2]
            continue
        part = _part(filename, name)
        own[part] = own.get(part, 0.0) + row[2]  # tottime: time in the function itself
    total = sum(own.values()) or 1.0
    rest: list[tuple[float, str]] = sorted(
        ((row[2], f"{Path(filename).name}:{name}") for (filename, _line, name), row
         in stats.stats.items()  # type: ignore[attr-defined]
         if _part(filename, name) == PARTS[-1][0] and filename != "~"), reverse=True)
    print(f"Where {_label()}'s CPU goes (cProfile, {requests} requests, one at a time; "
          f"{1000 * cpu / requests:.2f} ms CPU per request with the profiler on):")
    for part, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        print(f"  {part:<42} {100 * seconds / total:5.1f}%  "
              f"{1e6 * seconds / requests:7.0f} us/request")
    if os.environ.get("BENCH_TOP"):  # e.g. BENCH_TOP=psycopg: that part's own time, largest first
        stats.sort_stats("tottime").print_stats(os.environ["BENCH_TOP"], 20)
    if os.environ.get("BENCH_CALLERS"):
        stats.print_callers(os.environ["BENCH_CALLERS"])
    print("  largest in the last part: " + ", ".join(
        f"{name} {1e6 * seconds / requests:.0f} us" for seconds, name in rest[:8]))


async def _child(fixture: dict[str, Any], which: str, requests: int) -> None:
    app, bare = _apps()
    key = {"Authorization": f"Bearer {fixture['key']}"}
    qrs: list[str] = fixture["qrs"]
    async with app.router.lifespan_context(app):
        target, headers = (app, key) if which == "cityid" else (bare, {})
        await _drive(target, qrs[:20], headers)
        await _drive(target, [qrs[i % len(qrs)] for i in range(20, 20 + requests)], headers)


def _instructions(env: dict[str, str], fixture_path: Path, which: str,
                  runs: tuple[int, int]) -> tuple[int, int]:
    """Instructions of two runs of ``which`` with different request counts, side by side."""
    # Under valgrind a request takes ~50 times longer; the audit chainer's timed wake-ups would
    # then land in the count. One at start-up is the same for both runs and cancels out.
    quiet = {**env, "CITYID_AUDIT_CHAIN_INTERVAL_SECONDS": "60"}
    totals = []
    for requests in runs:
        # One after the other: two children at once race for first-use work (the status list,
        # prepared statements, the key cache's listener), which landed in one count or the
        # other and once made the difference negative.
        child = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             str(Path(__file__).resolve()), "--child", which, "--requests", str(requests),
             "--route", "redeem" if ROUTE["benefit"] else "verify",
             "--fixture", str(fixture_path)],
            env=quiet, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, stderr = child.communicate()
        found = re.search(r"Collected : (\d+)", stderr)
        if child.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind run failed:\n{stderr[-2000:]}")
        totals.append(int(found.group(1)))
    if totals[1] <= totals[0]:
        raise RuntimeError(f"{which}: {runs[1]} requests counted no more instructions than "
                           f"{runs[0]} ({totals[1]} <= {totals[0]}); something other than the "
                           "requests dominates the count")
    return totals[0], totals[1]


def _instruction_counts(env: dict[str, str], fixture_path: Path, small: int, large: int) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian package valgrind)")
    print(f"Instructions per request (callgrind; runs of {small} and {large} requests, "
          "difference / difference):")
    per: dict[str, float] = {}
    for which, scale in (("bare", 5), ("cityid", 1)):
        low, high = _instructions(env, fixture_path, which, (small * scale, large * scale))
        per[which] = (high - low) / ((large - small) * scale)
        print(f"  {'bare FastAPI' if which == 'bare' else _label():<21}"
              f"{per[which] / 1e6:7.2f} million")
    print(f"  ratio             {per['cityid'] / per['bare']:7.1f}x bare")


def _prepare(env: dict[str, str], fixture_path: Path, sample: int) -> None:
    """Seed, make a partner with a key through the app, sample QR payloads."""
    from bench.verify_load import ADMIN, ADMIN_PASSWORD, cityid, sample_qr_texts

    cityid(env, "seed", "--cardholders", str(max(sample, 500)))
    cityid(env, "staff", "add", ADMIN, "--role", "admin", stdin=ADMIN_PASSWORD + "\n")

    async def partner_key() -> tuple[str, str]:
        app, _ = _apps()
        async with app.router.lifespan_context(app):
            async def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
                status, raw = await call(app, "POST", path, body, {
                    "Authorization": f"Bearer {token}"} if token else {})
                if status not in (200, 201):
                    raise RuntimeError(f"{path} answered {status}: {raw[:300]!r}")
                return json.loads(raw)

            # An admin signs in with a second factor: enrol one, confirm it, use the next code.
            creds = {"username": ADMIN, "password": ADMIN_PASSWORD}
            totp = pyotp.TOTP((await post("/v1/auth/second-factor/enrolment", creds))["secret"])
            await post("/v1/auth/second-factor/confirmation",
                       {**creds, "code": totp.at(time.time() - 30)})
            token = (await post("/v1/auth/token",
                                {**creds, "second_factor": totp.now()}))["access_token"]
            partner = await post("/v1/partners", {"name": "Cost Museum", "type": "cultural"},
                                 token)
            today = date.today()
            benefit = await post("/v1/benefits", {
                "partner_id": partner["id"], "name": "Cost admission", "category": "service",
                "limit": {"count": 1000, "period": "calendar_month"},
                "active_from": (today - timedelta(days=1)).isoformat(),
                "active_until": (today + timedelta(days=365)).isoformat()}, token)
            key = (await post(f"/v1/partners/{partner['id']}/keys", {}, token))["key"]
            return str(key), str(benefit["id"])

    key, benefit = asyncio.run(partner_key())
    fixture_path.write_text(json.dumps({"key": key, "benefit": benefit,
                                        "qrs": sample_qr_texts(env, sample)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--route", choices=["verify", "redeem"], default="verify",
                        help="measure POST /v1/verify (default) or POST /v1/redemptions")
    parser.add_argument("--child", choices=["bare", "cityid"], help=argparse.SUPPRESS)
    parser.add_argument("--fixture", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.route == "redeem":
            ROUTE["benefit"] = json.loads(args.fixture.read_text())["benefit"]
        asyncio.run(_child(json.loads(args.fixture.read_text()), args.child, args.requests))
        return

    from bench.verify_load import throwaway_database

    data_dir = Path(tempfile.mkdtemp(prefix="cityid-bench-cost-"))
    try:
        with throwaway_database(args.database_url) as url:
            env = {**os.environ, "CITYID_DATABASE_URL": url, "CITYID_DATA_DIR": str(data_dir),
                   # The throwaway keyring stays in the folder that is removed at the end.
                   "CITYID_KEYRING_PATH": str(data_dir / "keyring.json"),
                   "CITYID_ENV": "development", "CITYID_LOG_LEVEL": "WARNING",
                   "CITYID_STATUS_LIST_SIZE": "131072",
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE": "100000000",
                   "CITYID_PARTNER_REQUESTS_PER_MINUTE_PER_CLIENT": "100000000"}
            os.environ.update(env)  # this process builds the app from the same settings
            fixture_path = data_dir / "fixture.json"
            _prepare(env, fixture_path, sample=2000)
            if args.route == "redeem":
                ROUTE["benefit"] = json.loads(fixture_path.read_text())["benefit"]
            print(f"cityid verification cost, one request at a time; load average at start "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            asyncio.run(_cpu_rounds(json.loads(fixture_path.read_text()), args.rounds,
                                    args.requests))
            if args.profile:
                asyncio.run(_profile(json.loads(fixture_path.read_text()), args.requests))
            if args.instructions:
                _instruction_counts(env, fixture_path, small=20, large=120)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
