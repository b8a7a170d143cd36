"""Running the service: ``cityid serve`` and ``cityid db``."""

from __future__ import annotations

import logging
import os
import shutil

import click
import uvicorn

from cityid.logging import logging_config
from cityid.migrate import upgrade
from cityid.settings import Settings, get_settings
from entry.cli.common import command_runtime
from idcard.service import ensure_signing_key


def prepare(settings: Settings) -> None:
    """First-run work, done once before workers start: migrate, make the keyring."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)

    keyring_path = settings.effective_keyring_path
    first_run = settings.key_provider == "file" and not keyring_path.exists()
    runtime = command_runtime(settings, create=True)
    ensure_signing_key(runtime.vault, runtime.clock.now())  # the keyring file is made here too
    if first_run:
        click.echo(f"keyring created at {keyring_path.resolve()}: back it up apart from the "
                   "database; losing it loses every record", err=True)
    elif settings.key_provider == "file" and settings.keyring_path is None \
            and keyring_path == settings.legacy_keyring_path:
        click.echo(f"notice: the keyring {keyring_path} is inside the data folder, so a copy of "
                   f"{settings.data_dir} carries the keys with the data; move it to "
                   f"{settings.default_keyring_path} (a 0700 folder) or set "
                   "CITYID_KEYRING_PATH", err=True)


@click.command("serve", help="Start the service (migrates the database and makes keys on first "
               "run).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:



    settings = get_settings()
    prepare(settings)
    if workers > 1:
        # Prometheus needs one shared directory to add up what each worker counted.
        metrics_dir = settings.data_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    # A log record, not a bare line, so every line the service writes is one JSON document.
    logging.getLogger("cityid.serve").info(
        f"cityid on http://{host}:{port} (API docs at /docs), "
        f"database {settings.effective_database_url.split('@')[-1]}")
    # No socket-counting limit_concurrency: idle sockets would lock everyone out. The app
    # refuses requests in progress beyond CITYID_MAX_REQUESTS_IN_FLIGHT itself, and the proxy
    # in front (deploy/nginx) times out idle and slow clients.
    uvicorn.run("entry.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False,
                log_config=logging_config(settings.log_level, json_lines=settings.log_json),
                # X-Forwarded-For names the client only when a listed proxy sent it; otherwise
                # any client could pick the address every throttle counts.
                proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=settings.trusted_proxies or None,
                # Longer than the proxy's upstream keep-alive (5 s), so the proxy closes an idle
                # connection before uvicorn does and never sends on one being closed.
                timeout_keep_alive=10,
                server_header=False)


@click.group("db", help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the migrations up to the newest.")
def db_upgrade() -> None:
    settings = get_settings()
    upgrade(settings.effective_database_url)
    click.echo("database is at the newest revision")
