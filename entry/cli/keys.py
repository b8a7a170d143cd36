"""Keys: ``cityid keys``. Key-encryption keys and their epochs, the blind-index key, card
signing keys and QR verifier keys."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cityid.db import unit_of_work
from cityid.errors import AppError
from cityid.roles import Role
from cityid.settings import Settings, get_settings
from entry import runtime as composition
from entry.cli.common import command_runtime, fail
from idcard.cose import generate_verifier_key
from idcard.credential import generate_signing_key
from privacy import audit, epochs, repository
from privacy.audit import Actor
from privacy.epochs import EpochPolicy
from privacy.errors import KeyringError
from privacy.key_providers import FileKeyProvider
from privacy.keyring import Keyring
from privacy.pkcs11 import Pkcs11KeyProvider
from privacy.vault import rewrap_all, rewrap_batch, start_epoch
from redemption import service as partner_service
from staff import ceremony


@click.group("keys", help="Key-encryption keys, the blind-index key and signing keys.")
def keys() -> None:
    pass


def _epoch_policy(settings: Settings) -> EpochPolicy:
    return EpochPolicy(length=timedelta(days=settings.key_epoch_days),
                       backup_retention=timedelta(days=settings.backup_retention_days))


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "unknown"


@keys.command("status", help="Show each key epoch (KEK version): when it began, how many data "
              "keys it wraps, when it rolls or is due to be destroyed; warn when overdue.")
def keys_status() -> None:
    settings = get_settings()
    runtime = command_runtime(settings)
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
    settings = get_settings()
    runtime = command_runtime(settings)
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
            fail("the keyring comes from the environment; pass --out FILE for the new keyring")
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
            return rewrap_batch(session, provider, keyring, batch)

    try:
        with click.progressbar(length=total, label="rewrapping data keys",
                               file=sys.stderr) as bar:
            rewrap_all(keyring, run_batch, on_progress=bar.update)
    except KeyringError as exc:
        fail(exc.detail)
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
    settings = get_settings()
    runtime = command_runtime(settings)
    provider, now = runtime.vault.provider, runtime.clock.now()
    save_to = FileKeyProvider(out, create=False) if out else provider
    if not save_to.writable:
        fail("the keyring comes from the environment; pass --out FILE for the new keyring")
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
                fail(f"KEK version {version} is not in the keyring")
            targets = [version]
        for v in targets:
            if counts.get(v):
                fail(f"{counts[v]} data keys are still wrapped under version {v}; run "
                     "`cityid keys rotate` to finish the roll first")
        try:
            for v in targets:
                keyring = keyring.without_kek(v)
            save_to.save(keyring)
        except KeyringError as exc:
            fail(exc.detail)
    for v in targets:
        click.echo(f"KEK version {v} destroyed; database backups from its epoch can no longer "
                   "be restored")
    since = epochs.shredded_unreadable_before(keyring)
    if since is not None:
        click.echo(f"residents shredded before {since.isoformat(timespec='seconds')} are "
                   "unreadable in every backup")


@keys.command("init", help="Make a new keyring: print it as JSON for CITYID_KEYRING "
              "(--provider env), or make it inside the PKCS#11 token of the settings "
              "(--provider pkcs11), optionally importing an existing keyring file.")
@click.option("--provider", "provider_name", type=click.Choice(["env", "pkcs11"]),
              default="env", show_default=True)
@click.option("--from-file", "from_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), default=None,
              help="With --provider pkcs11: import this keyring file's keys into the token "
              "(moving a city from the file keyring to a token).")
def keys_init(provider_name: str, from_file: Path | None) -> None:
    """A complete keyring: a KEK, the index key, a card signing key and a QR verifier key, so a
    service whose keyring comes from the environment (which it cannot write) can issue sealed
    cards from its first request. In a token, the keys are made inside it, non-extractable."""
    now = datetime.now(UTC)
    if provider_name == "env":
        if from_file is not None:
            fail("--from-file is for --provider pkcs11")
        keyring = Keyring.generate(now).with_signing_key(generate_signing_key("EdDSA", now=now))
        click.echo(keyring.with_verifier_key(generate_verifier_key(now=now)).to_json())
        return
    _init_token(get_settings(), now, from_file)


def init_token(token: Pkcs11KeyProvider, now: datetime, *,
               imported: Keyring | None = None) -> Keyring:
    """Put a complete keyring in an empty token: made inside it, or ``imported`` (a file
    keyring's keys become non-extractable token objects), with a signing key and a verifier
    key if the imported keyring lacks them."""
    if token.initialised:
        raise KeyringError("the token already holds a cityid keyring; rotate its keys with "
                           "`cityid keys rotate` and `cityid keys rotate-signing`")
    keyring = imported or Keyring.generate(now, held=True)
    if keyring.active_signing_kid is None:
        keyring = keyring.with_signing_key(generate_signing_key("EdDSA", now=now, held=True))
    if keyring.active_verifier_kid is None:
        keyring = keyring.with_verifier_key(generate_verifier_key(now=now))
    token.save(replace(keyring, held=True))
    return token.load()


def _init_token(settings: Settings, now: datetime, from_file: Path | None) -> None:
    try:
        token = composition.token_provider_for(settings)
        # Read as the file provider reads it, so a keyring file readable by others is refused.
        imported = FileKeyProvider(from_file, create=False).load() if from_file else None
        made = init_token(token, now, imported=imported)
        token.close()
    except KeyringError as exc:
        fail(exc.detail)
    where = (f"slot {settings.pkcs11_slot}" if settings.pkcs11_slot is not None
             else f"token {settings.pkcs11_token_label!r}")
    how = f"imported from {from_file}" if from_file is not None else "made inside the token"
    click.echo(f"keyring in {where} ({how}): KEK versions {sorted(made.keks)}, the index key, "
               f"signing key {made.active_signing_kid}, verifier key "
               f"{made.active_verifier_kid}; set CITYID_KEY_PROVIDER=pkcs11")
    if from_file is not None:
        click.echo(f"the keys of {from_file} are now in the token; run `cityid keys rotate` and "
                   "`cityid keys rotate-signing` to get keys that were never outside it, then "
                   "destroy the file and its copies (docs/staff-security.md)")


@keys.command("rotate-signing", help="Start a new card signing key (kid); older cards keep "
              "verifying until they expire.")
@click.option("--alg", type=click.Choice(["EdDSA", "ES256"]), default="EdDSA", show_default=True)
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_rotate_signing(alg: str, out: Path | None) -> None:
    runtime = command_runtime()
    if out is None and not runtime.vault.provider.writable:
        fail("the keyring comes from the environment; pass --out FILE for the new keyring")
    save_to = None
    if out is not None:
        save_to = FileKeyProvider(out, create=False)
    key = generate_signing_key(alg, now=runtime.clock.now(),
                               held=(save_to or runtime.vault.provider).holds_keys)
    try:
        runtime.vault.add_signing_key(key, save_to=save_to)
    except KeyringError as exc:
        fail(exc.detail)
    click.echo(f"new signing key {key.kid} ({alg}) signs new cards from now on")


@keys.command("rotate-verifier", help="Start a new QR verifier key (kid) that seals new cards; "
              "older keys keep opening the cards they sealed until those expire.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Write the new keyring here (needed when keys come from the environment).")
def keys_rotate_verifier(out: Path | None) -> None:
    runtime = command_runtime()
    if out is None and not runtime.vault.provider.writable:
        fail("the keyring comes from the environment; pass --out FILE for the new keyring")
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
@click.option("--ceremony", "ceremony_id", required=True, type=click.UUID,
              help="The approved verifier_export ceremony for this partner (staff/ceremony.py).")
def keys_export_verifier(partner_id: Any, out: Path, ceremony_id: Any) -> None:
    runtime = command_runtime()
    try:
        with unit_of_work(runtime.sessions) as session:
            jwks = partner_service.export_verifier_keys_under_ceremony(
                session, desk=runtime.cards, actor=Actor("cli", Role.ADMIN), partner_id=partner_id,
                ceremony_id=ceremony_id, clock=runtime.clock)
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(jwks, handle, indent=2)
    except AppError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    kids = ", ".join(k["kid"] for k in jwks["keys"])
    click.echo(f"wrote verifier keys {kids} to {out} (mode 0600); hand it over in person")


@keys.command("export", help="Write the whole keyring (secret) to a file, under a key "
              "ceremony one admin started and another approved. Audited.")
@click.option("--ceremony", "ceremony_id", required=True, type=click.UUID,
              help="The approved keyring_export ceremony (POST /v1/key-ceremonies).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_export(ceremony_id: Any, out: Path) -> None:
    runtime = command_runtime()
    actor = Actor("cli", Role.ADMIN)
    try:
        with unit_of_work(runtime.sessions) as session:
            ceremony.use(session, actor=actor, ceremony_id=ceremony_id, kind="keyring_export",
                         recipient_id=None, clock=runtime.clock)
            if runtime.vault.provider.holds_keys:
                fail("the keys are in a PKCS#11 token, made non-extractable: they can't be "
                     "exported (back the token up with its own tools)")
            keyring = runtime.vault.keyring
            audit.record(session, actor=actor, action="keys.keyring_exported",
                         subject=f"ceremony:{ceremony_id}",
                         detail={"kek_versions": len(keyring.keks)}, clock=runtime.clock)
            # Written inside the transaction: a file that can't be written leaves the
            # ceremony unspent and nothing audited as exported.
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(keyring.to_json())
    except AppError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"wrote the keyring to {out} (mode 0600); move it into its new home and "
               "delete this copy")
