"""The `cityid` command. Each command runs in one transaction (or, for long online work such as
key rotation, in batches of their own) and shows progress for long work."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from cityid import cli_sites
from cityid.settings import Settings, get_settings

if TYPE_CHECKING:
    from api.runtime import Runtime
    from privacy.epochs import EpochPolicy


def _require_installation(settings: Settings) -> None:
    """Only ``serve``, ``db upgrade`` and ``seed`` make a database; any other command run where
    there is none says so, instead of leaving an empty ./var/cityid.db behind."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if not Path(url.database).is_file():
        _fail(f"no cityid database at {url.database}: this folder is not an installation "
              "(make one with `cityid db upgrade`, or set CITYID_DATA_DIR / "
              "CITYID_DATABASE_URL)")


def _runtime(settings: Settings | None = None, *, create: bool = False) -> Runtime:
    """The command's runtime. When the command ends, whatever it audited is linked into the
    chain, so nothing a command did is left waiting for a server's chainer. Without ``create``
    the database must already exist."""
    from api.runtime import build_runtime

    settings = settings or get_settings()
    if not create:
        _require_installation(settings)
    runtime = build_runtime(settings)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(runtime.audit_chainer.stop)
    return runtime


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class _Commands(click.Group):
    """A refusal of the program's own, or a database that is unreachable or not migrated, is
    one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from cityid.errors import AppError

        try:
            return super().invoke(ctx)
        except AppError as exc:
            _fail(exc.detail)
        except SQLAlchemyError as exc:
            _fail(f"the database failed ({type(exc).__name__}); is it reachable and migrated "
                  "(`cityid db upgrade`)?")


@click.group(cls=_Commands, help="cityid: municipal identity cards.")
def main() -> None:
    from cityid.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)


# --- service --------------------------------------------------------------------------------


def prepare(settings: Settings) -> None:
    """First-run work, done once before workers start: migrate, make the keyring."""
    from cityid.migrate import upgrade

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    from idcard.service import ensure_signing_key

    keyring_path = settings.effective_keyring_path
    first_run = settings.key_provider == "file" and not keyring_path.exists()
    runtime = _runtime(settings, create=True)
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


@main.command(help="Start the service (migrates the database and makes keys on first run).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    import logging

    import uvicorn

    from cityid.logging import logging_config

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
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
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


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the migrations up to the newest.")
def db_upgrade() -> None:
    from cityid.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    click.echo("database is at the newest revision")


# --- staff ----------------------------------------------------------------------------------


@main.group(help="Staff accounts.")
def staff() -> None:
    pass


@staff.command("add", help="Add a staff account; the password is read from a prompt or stdin.")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["clerk", "supervisor", "admin", "auditor"]))
def staff_add(username: str, role: str) -> None:
    from cityid.db import unit_of_work
    from privacy.audit import Actor
    from staff import service as staff_service
    from staff.models import Role

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    runtime = _runtime()
    from cityid.errors import AppError

    try:
        with unit_of_work(runtime.sessions) as session:
            staff_service.create_account(session, actor=Actor("cli", "admin"), username=username,
                                         password=password, role=Role(role), clock=runtime.clock)
    except AppError as exc:
        _fail(exc.detail)
    click.echo(f"added {username.lower()} ({role})")


# --- keys -----------------------------------------------------------------------------------


@main.group(help="Key-encryption keys, the blind-index key and signing keys.")
def keys() -> None:
    pass


def _epoch_policy(settings: Settings) -> EpochPolicy:
    from datetime import timedelta

    from privacy.epochs import EpochPolicy

    return EpochPolicy(length=timedelta(days=settings.key_epoch_days),
                       backup_retention=timedelta(days=settings.backup_retention_days))


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "unknown"


@keys.command("status", help="Show each key epoch (KEK version): when it began, how many data "
              "keys it wraps, when it rolls or is due to be destroyed; warn when overdue.")
def keys_status() -> None:
    from cityid.db import unit_of_work
    from privacy import epochs, repository

    settings = get_settings()
    runtime = _runtime(settings)
    keyring, now = runtime.vault.keyring, runtime.clock.now()
    with unit_of_work(runtime.sessions) as session:
        counts = repository.count_data_keys_by_version(session)
    policy = _epoch_policy(settings)
    found = epochs.epochs(keyring, counts, policy)
    click.echo(f"active KEK version: {keyring.active_kek}")
    click.echo(f"key epochs: a new KEK every {settings.key_epoch_days} days; database backups "
               f"are kept at most {settings.backup_retention_days} days")
    warnings = []
    for e in found:
        state = "active" if e.active else f"closed {_day(e.closed_at)}"
        if e.active:
            destroy = e.due_at + policy.backup_retention if e.due_at else None
            due = f"rolls by {_day(e.due_at)}, destroy by {_day(destroy)}"
        else:
            due = f"destroy by {_day(e.due_at)}"
        click.echo(f"  KEK v{e.version}: began {_day(e.began_at)}, {state}, "
                   f"{e.live_data_keys} data keys, {due}")
        if e.roll_unfinished:
            warnings.append(f"KEK v{e.version} still wraps {e.live_data_keys} live data keys: "
                            "the roll is unfinished; run `cityid keys rotate` to finish it")
        elif e.overdue(now):
            warnings.append(
                f"epoch of KEK v{e.version} is overdue (since {_day(e.due_at)}): run "
                + ("`cityid keys rotate`" if e.active else
                   f"`cityid keys retire-kek` to destroy KEK v{e.version}"))
    for version, n in sorted(counts.items()):
        if version not in keyring.keks:
            warnings.append(f"KEK v{version}: {n} data keys, KEY MISSING FROM KEYRING")
    since = epochs.shredded_unreadable_before(keyring)
    if since is not None:
        click.echo(f"residents shredded before {since.isoformat(timespec='seconds')} are "
                   "unreadable in every backup")
    for warning in warnings:
        click.echo(f"WARNING: {warning}")


@keys.command("rotate", help="Roll the key epoch: add a KEK version and rewrap every data key "
              "under it, online. Run again after an interruption: it finishes the roll.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--if-due", "if_due", is_flag=True,
              help="Only roll when the epoch is over (for a daily schedule).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_rotate(batch: int, if_due: bool, out: Path | None) -> None:
    from cityid.db import unit_of_work
    from privacy import epochs, repository
    from privacy.errors import KeyringError
    from privacy.keyring import FileKeyProvider, Keyring
    from privacy.vault import rewrap_all, rewrap_batch, start_epoch

    settings = get_settings()
    runtime = _runtime(settings)
    provider, now = runtime.vault.provider, runtime.clock.now()
    policy = _epoch_policy(settings)
    keyring = provider.load()
    with unit_of_work(runtime.sessions) as session:
        counts = repository.count_data_keys_by_version(session)
    behind = sum(n for v, n in counts.items() if v != keyring.active_kek)
    if behind:
        # An earlier roll was interrupted (or a key was written under the old KEK as it ended):
        # finish it instead of starting another epoch.
        click.echo(f"finishing the roll to KEK version {keyring.active_kek}: {behind} data keys "
                   "are still under older versions", err=True)
        total = behind
    else:
        current = epochs.active_epoch(keyring, counts, policy)
        if if_due and not current.overdue(now):
            click.echo(f"the epoch of KEK version {keyring.active_kek} began "
                       f"{_day(current.began_at)} and rolls on {_day(current.due_at)}; "
                       "nothing to do")
            return
        save_to = FileKeyProvider(out, create=False) if out else None
        if save_to is None and not provider.writable:
            _fail("the keyring comes from the environment; pass --out FILE for the new keyring")
        keyring = start_epoch(provider, now=now, save_to=save_to)
        if save_to is not None:
            # Running processes can't read a data key wrapped under a KEK they don't have yet.
            click.echo(f"new keyring with KEK version {keyring.active_kek} written to {out}. "
                       "Load it into CITYID_KEYRING for every process, then run "
                       "`cityid keys rotate` again to rewrap the data keys.")
            return
        total = sum(counts.values())

    def run_batch(keyring: Keyring) -> int:
        with unit_of_work(runtime.sessions) as session:
            return rewrap_batch(session, keyring, batch)

    try:
        with click.progressbar(length=total, label="rewrapping data keys",
                               file=sys.stderr) as bar:
            rewrap_all(keyring, run_batch, on_progress=bar.update)
    except KeyringError as exc:
        _fail(exc.detail)
    click.echo(f"active KEK is now version {keyring.active_kek}; every data key is rewrapped.")
    with unit_of_work(runtime.sessions) as session:
        counts = repository.count_data_keys_by_version(session)
    for e in epochs.epochs(keyring, counts, policy):
        if not e.active:
            click.echo(f"KEK version {e.version} is due to be destroyed on {_day(e.due_at)}, "
                       "when the backups that need it have expired (`cityid keys retire-kek`).")


@keys.command("retire-kek", help="Destroy the KEKs of closed epochs whose backups have expired "
              "(or VERSION now), once no live data key needs them.")
@click.argument("version", type=int, required=False)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_retire(version: int | None, out: Path | None) -> None:
    from cityid.db import unit_of_work
    from privacy import epochs, repository
    from privacy.errors import KeyringError
    from privacy.keyring import FileKeyProvider

    settings = get_settings()
    runtime = _runtime(settings)
    provider, now = runtime.vault.provider, runtime.clock.now()
    save_to = FileKeyProvider(out, create=False) if out else provider
    if not save_to.writable:
        _fail("the keyring comes from the environment; pass --out FILE for the new keyring")
    keyring = provider.load()
    with unit_of_work(runtime.sessions) as session:
        # Counted under a lock that waits for writers in flight and holds off new ones until the
        # keyring is saved, so no data key lands under a KEK between this count and its end.
        repository.lock_data_keys(session)
        counts = repository.count_data_keys_by_version(session)
        if version is None:
            targets = [e.version for e in
                       epochs.due_for_destruction(keyring, counts, _epoch_policy(settings), now)]
            if not targets:
                closed = [e for e in epochs.epochs(keyring, counts, _epoch_policy(settings))
                          if not e.active]
                click.echo("no KEK is due to be destroyed" + "".join(
                    f"; KEK version {e.version} is due on {_day(e.due_at)}" for e in closed))
                return
        else:
            if version not in keyring.keks:
                _fail(f"KEK version {version} is not in the keyring")
            targets = [version]
        for v in targets:
            if counts.get(v):
                _fail(f"{counts[v]} data keys are still wrapped under version {v}; run "
                      "`cityid keys rotate` to finish the roll first")
        try:
            for v in targets:
                keyring = keyring.without_kek(v)
            save_to.save(keyring)
        except KeyringError as exc:
            _fail(exc.detail)
    for v in targets:
        click.echo(f"KEK version {v} destroyed; database backups from its epoch can no longer "
                   "be restored")
    since = epochs.shredded_unreadable_before(keyring)
    if since is not None:
        click.echo(f"residents shredded before {since.isoformat(timespec='seconds')} are "
                   "unreadable in every backup")


@keys.command("init", help="Print a new keyring as JSON, for CITYID_KEYRING in production.")
def keys_init() -> None:
    """A complete keyring: a KEK, the index key, a card signing key and a QR verifier key, so a
    service whose keyring comes from the environment (which it cannot write) can issue sealed
    cards from its first request."""
    from datetime import UTC, datetime

    from idcard.cose import generate_verifier_key
    from idcard.credential import generate_signing_key
    from privacy.keyring import Keyring

    now = datetime.now(UTC)
    keyring = Keyring.generate(now).with_signing_key(generate_signing_key("EdDSA", now=now))
    click.echo(keyring.with_verifier_key(generate_verifier_key(now=now)).to_json())


@keys.command("rotate-signing", help="Start a new card signing key (kid); older cards keep "
              "verifying until they expire.")
@click.option("--alg", type=click.Choice(["EdDSA", "ES256"]), default="EdDSA", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_rotate_signing(alg: str, out: Path | None) -> None:
    from idcard.credential import generate_signing_key
    from privacy.keyring import FileKeyProvider

    runtime = _runtime()
    if out is None and not runtime.vault.provider.writable:
        _fail("the keyring comes from the environment; pass --out FILE for the new keyring")
    save_to = None
    if out is not None:
        save_to = FileKeyProvider(out, create=False)
    key = generate_signing_key(alg, now=runtime.clock.now())
    runtime.vault.add_signing_key(key, save_to=save_to)
    click.echo(f"new signing key {key.kid} ({alg}) signs new cards from now on")


@keys.command("rotate-verifier", help="Start a new QR verifier key (kid) that seals new cards; "
              "older keys keep opening the cards they sealed until those expire.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_rotate_verifier(out: Path | None) -> None:
    from idcard.credential import generate_verifier_key
    from privacy.keyring import FileKeyProvider

    runtime = _runtime()
    if out is None and not runtime.vault.provider.writable:
        _fail("the keyring comes from the environment; pass --out FILE for the new keyring")
    key = generate_verifier_key(now=runtime.clock.now())
    runtime.vault.add_verifier_key(key, save_to=FileKeyProvider(out, create=False)
                                   if out is not None else None)
    click.echo(f"new verifier key {key.kid} seals new cards from now on; re-export it to "
               "offline verifiers (`cityid keys export-verifier`)")


@keys.command("export-verifier", help="Write the QR verifier keys (a JWK Set, secret) for an "
              "offline verifier whose partner type is entitled to them. Audited.")
@click.option("--partner", "partner_id", required=True, type=click.UUID,
              help="The partner that receives the keys (a bank, credit union or police).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_export_verifier(partner_id: Any, out: Path) -> None:
    import json

    from cityid.db import unit_of_work
    from cityid.errors import AppError
    from privacy.audit import Actor
    from redemption import service as partner_service

    runtime = _runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            jwks = partner_service.export_verifier_keys(
                session, desk=runtime.cards, actor=Actor("cli", "admin"), partner_id=partner_id)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(jwks, handle, indent=2)
    except AppError as exc:
        _fail(exc.detail)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    kids = ", ".join(k["kid"] for k in jwks["keys"])
    click.echo(f"wrote verifier keys {kids} to {out} (mode 0600); hand it over in person")


# --- cards ----------------------------------------------------------------------------------


@main.group(help="Cards.")
def cards() -> None:
    pass


@cards.command("print", help="Render every card waiting to be printed into one PDF, and mark "
               "them printed.")
@click.option("--status", "status", default="approved", show_default=True,
              type=click.Choice(["approved", "printed"]),
              help="approved: cards of approved applications not yet printed; printed: reprint.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path))
def cards_print(status: str, out: Path) -> None:
    from cityid.db import unit_of_work
    from idcard import service as card_service
    from privacy.audit import Actor

    runtime = _runtime()
    fulfilment = ["to_print"] if status == "approved" else ["printed"]

    def write(pdf: bytes) -> None:
        tmp = out.with_suffix(out.suffix + ".part")
        tmp.write_bytes(pdf)
        tmp.replace(out)

    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="rendering cards", file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        with unit_of_work(runtime.sessions) as session:
            count = card_service.print_batch(session, desk=runtime.cards,
                                             actor=Actor("cli", "supervisor"),
                                             fulfilment=fulfilment, write=write,
                                             progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if count == 0:
        click.echo("no cards are waiting to be printed")
        return
    click.echo(f"printed {count} cards to {out}")


@main.command(help="Make N synthetic cardholders (an approved application and an active card "
              "each) for demos and benchmarks.")
@click.option("--cardholders", "count", required=True, type=click.IntRange(1, 8_000_000))
@click.option("--batch", default=2000, show_default=True, type=click.IntRange(1, 100_000),
              help="Cardholders per transaction.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Processes making the rows (default: the CPU count).")
def seed(count: int, batch: int, workers: int | None) -> None:
    from cityid.errors import AppError
    from idcard import seed as seeding
    from privacy.audit import Actor

    settings = get_settings()
    prepare(settings)
    runtime = _runtime(settings)
    desk, made = runtime.cards, 0
    try:
        seed_plan = seeding.plan(runtime.sessions, desk=desk, count=count)
        with click.progressbar(length=count, label="seeding cardholders",
                               file=sys.stderr) as bar:
            def progress(n: int) -> None:
                nonlocal made
                made += n
                bar.update(n)

            seeding.seed(runtime.sessions, seed_plan, desk=desk, actor=Actor("cli", "admin"),
                         batch=batch, workers=workers or os.cpu_count() or 1,
                         on_progress=progress)
    except AppError as exc:
        _fail(exc.detail)
    except KeyboardInterrupt:
        _fail(f"interrupted; {made} synthetic cardholders were written and are kept")
    click.echo(f"seeded {made} synthetic cardholders; "
               f"{seed_plan.cards_before + made} cards in all")


# --- offline verification -------------------------------------------------------------------

EXIT_INVALID, EXIT_NO_STATUS_LIST = 3, 4


def _read_json(path: Path, what: str) -> Any:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    except (ValueError, UnicodeDecodeError):
        _fail(f"{what} {path} is not a JSON document")


def _read_jwks(path: Path) -> dict[str, Any]:
    jwks = _read_json(path, "the key set")
    if not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        _fail(f"the key set {path} is not a JWK Set (no \"keys\" list)")
    return dict(jwks)


def _read_verifier_keys(path: Path) -> dict[str, bytes]:
    from idcard.cose import parse_verifier_jwks

    try:
        return parse_verifier_jwks(_read_json(path, "the verifier key file"))
    except ValueError as exc:
        _fail(f"the verifier key file {path}: {exc}")


@main.command(help="Verify a card credential: QR text, or --image of a card's back. Partners "
              "give --issuer URL (or saved --jwks and --status-list files); sealed QRs need "
              "--verifier-key. Exit 0 valid, 3 invalid, 4 no status list to check against.")
@click.argument("qr_text", required=False)
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None)
@click.option("--issuer", "issuer_url", default=None, metavar="URL",
              help="Fetch the issuer's /.well-known/cityid/jwks.json and status list, and cache "
              "them for as long as the issuer allows.")
@click.option("--refresh", is_flag=True, help="With --issuer: fetch again even if fresh.")
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None, help="A saved /.well-known/cityid/jwks.json.")
@click.option("--status-list", "status_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None, help="A saved /.well-known/cityid/status-list.")
@click.option("--verifier-key", "verifier_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="The verifier key file an administrator exported, to open sealed QRs.")
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z"]), default=None,
              help="Verify as of this moment (ISO 8601 with zone) instead of now.")
def verify(qr_text: str | None, image: Path | None, issuer_url: str | None, refresh: bool,
           jwks_file: Path | None, status_file: Path | None, verifier_file: Path | None,
           at: datetime | None) -> None:
    """Three sources of trust, none of which creates anything: the issuer's published documents
    (``--issuer``), saved copies of them (``--jwks``), or, inside an installation with neither,
    the installation's own keys and list."""
    import json

    from idcard.offline import load_status_list, offline_check
    from idcard.verifier import Reason

    if (qr_text is None) == (image is None):
        _fail("give the QR text or --image, not both")
    if issuer_url is not None and (jwks_file is not None or status_file is not None):
        _fail("give --issuer, or saved --jwks and --status-list files, not both")
    now = at or datetime.now(UTC)
    verifier_keys = _read_verifier_keys(verifier_file) if verifier_file else None
    notes: list[str] = []
    document: bytes | None
    if issuer_url is not None:
        from idcard.published import PublishedError, default_cache_dir, describe_age, fetch_issuer

        try:
            keys_doc, list_doc = fetch_issuer(issuer_url, cache_dir=default_cache_dir(),
                                              now=datetime.now(UTC), refresh=refresh)
        except PublishedError as exc:
            _fail(str(exc))
        try:
            jwks = json.loads(keys_doc.body)
        except ValueError:
            _fail(f"{keys_doc.url} is not a JSON document")
        document = list_doc.body
        for doc in (keys_doc, list_doc):
            age = describe_age(doc.age(datetime.now(UTC)))
            source = "cached copy" if doc.from_cache else "fetched now"
            line = (f"{doc.name}: {source} from {doc.url}, {age} old, kept for "
                    f"{describe_age(doc.max_age)}")
            if doc.refresh_failed:
                line += f"; STALE, could not refresh: {doc.refresh_failed}"
            notes.append(line)
    elif jwks_file is not None:
        jwks = _read_jwks(jwks_file)
        try:
            document = status_file.read_bytes() if status_file else None
        except OSError as exc:
            _fail(f"cannot read the status list {status_file}: {exc.strerror or exc}")
    else:
        from cityid.db import unit_of_work
        from idcard import service as card_service

        runtime = _runtime()
        with unit_of_work(runtime.sessions) as session:
            jwks = card_service.published_keys(session, desk=runtime.cards)
            document = (status_file.read_bytes() if status_file else
                        card_service.status_list(session, desk=runtime.cards)[0])
        if verifier_keys is None:
            verifier_keys = card_service.verifier_keys(runtime.cards)
    status = load_status_list(document, jwks)
    if document and status is None:
        notes.append("status list: it does not verify against the key set; not used")
    elif status is not None:
        notes.append(f"status list: issued {status.issued.isoformat()}, valid until "
                     f"{status.valid_until.isoformat()}")
    verdict = offline_check(qr_text=qr_text, image=image.read_bytes() if image else None,
                            jwks=jwks, status_document=document, now=now,
                            verifier_keys=verifier_keys)
    result: dict[str, Any] = {"result": "valid" if verdict.ok else "invalid",
                              "reason": verdict.reason.value}
    if verdict.fields is not None:
        f = verdict.fields
        result["fields"] = {"card_number": f.card_number, "issue_number": f.issue_number,
                            "full_name": f.full_name, "date_of_birth": f.date_of_birth.isoformat(),
                            "gender": f.gender, "language": f.language,
                            "expires_at": f.expires_at.isoformat(), "kid": f.kid,
                            "sealed_by": f.sealed_by}
    if verdict.reason is Reason.UNKNOWN_KEY and verifier_keys is None:
        notes.append("the QR may be sealed: give the --verifier-key file your administrator "
                     "exported")
    for note in notes:
        click.echo(note, err=True)
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    if not document and verdict.reason is Reason.STATUS_LIST_STALE:
        click.echo("no status list: revocation and suspension were not checked "
                   "(give --status-list FILE or --issuer URL)", err=True)
        sys.exit(EXIT_NO_STATUS_LIST)
    sys.exit(0 if verdict.ok else EXIT_INVALID)


# --- retention and the privacy drill --------------------------------------------------------


@main.group(help="Retention: purge what the program no longer needs.")
def retention() -> None:
    pass


@retention.command("run", help="Purge what is due (shred data keys, delete rows). Safe to run "
                   "on several workers at once; schedule it daily.")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000))
def retention_run(dry_run: bool, batch: int) -> None:
    from oversight import retention as retention_rules

    settings = get_settings()
    runtime = _runtime(settings)
    rules = retention_rules.load_rules(settings.retention_path)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.__exit__(None, None, None)
            bars.clear()
            bars[stage] = click.progressbar(length=max(total, 1), label=f"checking {stage}",
                                            file=sys.stderr).__enter__()
        bars[stage].update(done)

    try:
        report = retention_rules.run(runtime.sessions, vault=runtime.vault, clock=runtime.clock,
                                     rules=rules, dry_run=dry_run, batch=batch,
                                     progress=progress)
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
    click.echo(report.summary())


@main.group(help="Privacy checks.")
def privacy() -> None:
    pass


@privacy.command("drill", help="Read a database dump without keys and report what personal "
                 "data it gives away (exit 1 if any).")
@click.option("--dump", "dump", type=click.Path(exists=True, path_type=Path), default=None,
              help="A SQLite file or a plain pg_dump (default: dump the configured database).")
@click.option("--canaries", type=click.Path(exists=True, path_type=Path), default=None,
              help="A file of known personal values, one a line, to search for.")
@click.option("--with-keys", is_flag=True, help="Also report what the keys would open.")
def privacy_drill(dump: Path | None, canaries: Path | None, with_keys: bool) -> None:
    import tempfile

    from cityid.db import unit_of_work
    from oversight import drill

    settings = get_settings()
    if dump is None:
        _require_installation(settings)
    with tempfile.TemporaryDirectory() as folder:
        source = dump or drill.dump_database(settings.effective_database_url, Path(folder))
        report = drill.analyse(
            drill.read_dump(source), source=str(dump or "a fresh dump of the configured database"),
            canaries=canaries.read_text().splitlines() if canaries else ())
    if with_keys:
        runtime = _runtime(settings)
        with unit_of_work(runtime.sessions) as session:
            report.lawful = drill.lawful_reach(session, runtime.vault)
    click.echo(report.render())
    sys.exit(0 if report.clean else 1)


# --- audit ----------------------------------------------------------------------------------


@main.group(help="The audit chain.")
def audit() -> None:
    pass


@audit.command("verify", help="Link waiting entries into the chain, then check the whole chain "
               "and hold it to every head published so far; name the first broken entry or "
               "anchor (exit 2).")
@click.option("--anchors", "anchors_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Published heads kept outside the database (JSON lines, from `cityid audit "
              "anchor` or /.well-known/cityid/audit-head): the chain must still hold each.")
@click.option("--jwks", "jwks_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check the anchors' signatures with this saved jwks.json (default: every "
              "signing key in this installation's keyring).")
def audit_verify(anchors_file: Path | None, jwks_file: Path | None) -> None:
    import json

    from api.runtime import CoseHeadSigning
    from cityid.db import unit_of_work
    from privacy import anchor
    from privacy import audit as audit_chain

    runtime = _runtime()
    own_keys = runtime.audit_publisher.signing
    file_keys = own_keys
    if jwks_file is not None:
        try:
            file_keys = CoseHeadSigning(runtime.vault, jwks=json.loads(jwks_file.read_text()))
        except (ValueError, UnicodeDecodeError):
            _fail(f"{jwks_file} is not a JSON key set")
    linked = runtime.audit_chainer.drain()
    if linked:
        click.echo(f"linked {linked} waiting entries into the chain")
    with unit_of_work(runtime.sessions) as session:
        report = audit_chain.verify_chain(session)
        if not report.ok:
            click.echo(f"audit chain BROKEN at entry {report.seq}: {report.problem} "
                       f"({report.entries} entries verified before it)")
            sys.exit(2)
        held = [anchor.check_anchors(session, anchor.stored_anchors(session, own_keys),
                                     chain_end=report.entries)]
        if anchors_file is not None and held[0].ok:
            with anchors_file.open(encoding="utf-8", errors="replace") as lines:
                held.append(anchor.check_anchors(
                    session, anchor.anchors_in_file(lines, file_keys), chain_end=report.entries))
    for check in held:
        if not check.ok:
            click.echo(f"audit chain BROKEN behind a published head: {check.problem}")
            sys.exit(2)
    waiting = (f"; {report.waiting} recorded since, waiting to be chained"
               if report.waiting else "")
    click.echo(f"audit chain ok: {report.entries} entries{waiting}; "
               f"heads published in the database: {held[0].checked}, all hold")
    if len(held) > 1:
        newest = held[1].newest
        last = (f" (newest: entry {newest.seq}, published {newest.public()['published_at']})"
                if newest else "")
        click.echo(f"anchors in {anchors_file}: {held[1].checked}, all hold{last}")


@audit.command("anchor", help="Link waiting entries, sign the chain's head and append it to "
               "FILE (JSON lines), for a store outside the database that only appends.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def audit_anchor(out: Path) -> None:
    from cityid.db import unit_of_work
    from cityid.errors import AppError

    runtime = _runtime()
    runtime.audit_chainer.drain()
    head = None
    try:
        with unit_of_work(runtime.sessions) as session:
            head = runtime.audit_publisher.publish(session, force=True)
    except AppError as exc:
        _fail(exc.detail)
    if head is None:
        _fail("the chain's head could not be published")
        return
    # Appended only once the head is committed as published; fsync, as the line is the anchor.
    with out.open("a", encoding="utf-8") as handle:
        handle.write(head.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    click.echo(f"anchored entry {head.seq} ({head.hash[:16]}...), published "
               f"{head.public()['published_at']}, to {out}")


@audit.command("chain", help="Link every waiting entry into the chain now (the API's processes "
               "do this every CITYID_AUDIT_CHAIN_INTERVAL_SECONDS).")
def audit_chain_now() -> None:
    runtime = _runtime()
    click.echo(f"linked {runtime.audit_chainer.drain()} waiting entries into the chain")


main.add_command(cli_sites.sites)  # issue 17: enrollment centres

if __name__ == "__main__":
    main()
