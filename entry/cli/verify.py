"""``cityid verify``: offline verification of a card credential, as a partner's desk does it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from entry.cli import EXIT_INVALID, EXIT_NO_STATUS_LIST, fail
from idcard.cose import parse_verifier_jwks
from idcard.offline import load_status_list, offline_check
from idcard.published import PublishedError, default_cache_dir, describe_age, fetch_issuer
from idcard.verifier import Reason


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    except (ValueError, UnicodeDecodeError):
        fail(f"{what} {path} is not a JSON document")


def _read_jwks(path: Path) -> dict[str, Any]:
    jwks = _read_json(path, "the key set")
    if not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        fail(f"the key set {path} is not a JWK Set (no \"keys\" list)")
    return dict(jwks)


def _read_verifier_keys(path: Path) -> dict[str, bytes]:
    try:
        return parse_verifier_jwks(_read_json(path, "the verifier key file"))
    except ValueError as exc:
        fail(f"the verifier key file {path}: {exc}")


@click.command("verify", help="Verify a card credential: QR text, or --image of a card's back. "
               "Partners give --issuer URL (or saved --jwks and --status-list files); sealed QRs "
               "need --verifier-key. Exit 0 valid, 3 invalid, 4 no status list to check against.")
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
    if (qr_text is None) == (image is None):
        fail("give the QR text or --image, not both")
    if issuer_url is not None and (jwks_file is not None or status_file is not None):
        fail("give --issuer, or saved --jwks and --status-list files, not both")
    now = at or datetime.now(UTC)
    verifier_keys = _read_verifier_keys(verifier_file) if verifier_file else None
    notes: list[str] = []
    document: bytes | None
    if issuer_url is not None:

        try:
            keys_doc, list_doc = fetch_issuer(issuer_url, cache_dir=default_cache_dir(),
                                              now=datetime.now(UTC), refresh=refresh)
        except PublishedError as exc:
            fail(str(exc))
        try:
            jwks = json.loads(keys_doc.body)
        except ValueError:
            fail(f"{keys_doc.url} is not a JSON document")
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
            fail(f"cannot read the status list {status_file}: {exc.strerror or exc}")
    else:
        # Only here: a partner's desk verifying against the issuer's documents never loads the
        # installation (every package, argon2, the card renderer), which would double its wait.
        from entry.cli.installation import own_documents

        jwks, document, own_keys = own_documents(status_file)
        verifier_keys = verifier_keys if verifier_keys is not None else own_keys
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
