"""Real servers for the deployment tests: `cityid serve` as a subprocess, and Debian's nginx
started with the deployment's own configuration file (deploy/nginx/cityid.conf.template), of
which only the listen address, the upstream address and the paths are filled in."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cityid.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "cityid.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CITYID = str(Path(sys.executable).with_name("cityid"))
# How long a server may take to start; waiting is not what these tests measure.
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None, source: str | None = None,
            timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, from a chosen loopback source address."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if request(port, "GET", "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Served:
    port: int
    log: Path


@contextmanager
def cityid_serve(settings: Settings, log_dir: Path, *, workers: int = 1,
                 env: dict[str, str] | None = None) -> Iterator[Served]:
    """`cityid serve` on a free loopback port, on the test's database and keyring, with the
    environment holding only these settings (none of the caller's CITYID_ variables)."""
    port = free_port()
    values = {
        "CITYID_ENV": "development",
        "CITYID_DATA_DIR": str(settings.data_dir),
        "CITYID_DATABASE_URL": settings.effective_database_url,
        "CITYID_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        "CITYID_ARGON2_TIME_COST": str(settings.argon2_time_cost),
        **(env or {}),
    }
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("CITYID_") and k != "FORWARDED_ALLOW_IPS"}
    log = log_dir / f"cityid-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CITYID, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env={**environ, **values}, stdout=out, stderr=subprocess.STDOUT, cwd=log_dir)
    try:
        wait_until_up(port, process, log)
        yield Served(port, log)
    finally:
        stop(process)


def render_nginx_config(values: dict[str, str]) -> str:
    """The template with its ${PROXY_...} names filled in, as the official image's envsubst
    does; nothing else in the file is touched."""
    text = NGINX_TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    left = set(re.findall(r"\$\{(PROXY_[A-Z_]+)\}", text))
    assert not left, f"the nginx template needs values for {sorted(left)}"
    return text


def configured_seconds(directive: str) -> int:
    """A timeout as the deployment configures it, e.g. client_header_timeout."""
    match = re.search(rf"^\s*{directive}\s+(\d+)s;", NGINX_TEMPLATE.read_text(), re.MULTILINE)
    assert match, f"{directive} is not set in {NGINX_TEMPLATE.name}"
    return int(match.group(1))


@contextmanager
def nginx_proxy(upstream_port: int, work_dir: Path) -> Iterator[Served]:
    """Debian's nginx in the foreground, listening on a free loopback port, proxying to
    `cityid serve` on ``upstream_port``."""
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is not installed: run scripts/system-packages --test")
    work_dir.mkdir(parents=True, exist_ok=True)
    temp = work_dir / "temp"
    temp.mkdir(exist_ok=True)
    # nginx started as root runs its workers as an unprivileged user, which must reach these.
    for path in (work_dir, temp):
        path.chmod(0o755)
    port = free_port()
    config = work_dir / "nginx.conf"
    config.write_text(render_nginx_config({
        "PROXY_LISTEN": f"127.0.0.1:{port}",
        "PROXY_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "PROXY_PID": str(work_dir / "nginx.pid"),
        "PROXY_TEMP_DIR": str(temp),
    }))
    log = work_dir / "nginx.log"
    command = [NGINX, "-p", str(work_dir), "-c", str(config), "-e", "stderr"]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with log.open("wb") as out:
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, process, log)
        yield Served(port, log)
    finally:
        stop(process)
