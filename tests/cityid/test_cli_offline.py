"""The command line as a partner runs it: in a folder that is not an installation, with only
the issuer's published documents (saved, or fetched from a real local HTTP server), and with
bad input files. Nothing here makes a database, and nothing answers with a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cityid.settings import get_settings
from entry import cli
from idcard.cose import generate_verifier_key, verifier_jwks
from idcard.credential import CardClaims, generate_signing_key, issue_credential, public_jwks
from idcard.statuslist import TYP, build_status_document

ISSUER = "https://id.city.example"
NOW = datetime.now(UTC).replace(microsecond=0)
SIGNING = generate_signing_key("EdDSA", now=NOW)
VERIFIER = generate_verifier_key(now=NOW)
INDEX = 777


def credential(*, sealed: bool = True, revoked: bool = False) -> str:
    claims = CardClaims(card_number="4539148803436467", issue_number=1, language="eng",
                        full_name="Zoë Ñúñez", date_of_birth=date(1990, 1, 2))
    return issue_credential(claims, key=SIGNING, issuer=ISSUER, issued_at=NOW,
                            not_before=NOW - timedelta(days=1),
                            expires_at=NOW + timedelta(days=365),
                            status_index=INDEX + 1 if revoked else INDEX,
                            seal_with=VERIFIER if sealed else None)


def status_document() -> bytes:
    return build_status_document({INDEX + 1}, set(), key=SIGNING, issuer=ISSUER,
                                 issued_at=NOW - timedelta(minutes=5), ttl=timedelta(hours=24))


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder that is not an installation, as the working directory, with a cache
    directory of its own and no cityid configuration in the environment."""
    folder = tmp_path / "desk"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for name in list(os.environ):
        if name.startswith("CITYID_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()
    assert not (folder / "var").exists(), "a command made ./var"


@pytest.fixture
def documents(outside: Path) -> dict[str, Path]:
    files = {"jwks": outside / "jwks.json", "status": outside / "status-list",
             "verifier": outside / "verifier-keys.json"}
    files["jwks"].write_text(json.dumps(public_jwks([SIGNING])))
    files["status"].write_bytes(status_document())
    files["verifier"].write_text(json.dumps(verifier_jwks([VERIFIER])))
    return files


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def one_line_error(result: Result) -> str:
    """The command failed with exactly one line on stderr and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_verify_with_saved_documents_and_the_verifier_key_works_outside_an_installation(
        documents: dict[str, Path]) -> None:
    result = run("verify", credential(), "--jwks", str(documents["jwks"]), "--status-list",
                 str(documents["status"]), "--verifier-key", str(documents["verifier"]))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reason"] == "ok"
    revoked = run("verify", credential(revoked=True), "--jwks", str(documents["jwks"]),
                  "--status-list", str(documents["status"]), "--verifier-key",
                  str(documents["verifier"]))
    assert revoked.exit_code == 3 and json.loads(revoked.stdout)["reason"] == "revoked"


def test_verify_without_a_status_list_says_so_in_one_line_and_exits_4(
        documents: dict[str, Path]) -> None:
    result = run("verify", credential(sealed=False), "--jwks", str(documents["jwks"]))
    assert result.exit_code == cli.EXIT_NO_STATUS_LIST, result.output
    assert json.loads(result.stdout)["reason"] == "status_list_stale"
    assert [line for line in result.stderr.splitlines() if "no status list" in line]


def test_a_sealed_qr_without_the_verifier_key_shows_nothing(documents: dict[str, Path]) -> None:
    result = run("verify", credential(), "--jwks", str(documents["jwks"]), "--status-list",
                 str(documents["status"]))
    assert result.exit_code == 3 and json.loads(result.stdout)["reason"] == "unknown_key"
    assert "Zoë" not in result.output and "--verifier-key" in result.stderr


@pytest.mark.parametrize(("option", "content"), [
    ("--jwks", b"{not json"), ("--jwks", b"[1, 2]"), ("--jwks", b"\xff\xfe"),
    ("--verifier-key", b"{not json"), ("--verifier-key", b'{"keys": [{"kty": "oct"}]}'),
    ("--verifier-key", b'{"kty": "oct", "kid": "v1", "k": "c2hvcnQ"}'),
])
def test_a_bad_input_file_is_one_clear_line(option: str, content: bytes,
                                            documents: dict[str, Path], outside: Path) -> None:
    bad = outside / "bad.json"
    bad.write_bytes(content)
    files = {"--jwks": str(documents["jwks"]), "--verifier-key": str(documents["verifier"]),
             option: str(bad)}
    line = one_line_error(run("verify", credential(), "--status-list", str(documents["status"]),
                              *[x for pair in files.items() for x in pair]))
    assert "bad.json" in line


@pytest.mark.parametrize("command", [
    ["verify", "QRTEXT"], ["keys", "status"], ["keys", "rotate-signing"],
    ["keys", "rotate-verifier"], ["audit", "verify"], ["audit", "chain"],
    ["cards", "print", "--out", "cards.pdf"], ["retention", "run", "--dry-run"],
    ["privacy", "drill"],
])
def test_read_commands_outside_an_installation_say_so_and_make_no_database(
        command: list[str], outside: Path) -> None:
    line = one_line_error(run(*command))
    assert "no cityid database" in line
    assert list(outside.iterdir()) == []


def test_the_installed_command_verifies_in_an_empty_folder_without_a_traceback(
        documents: dict[str, Path], outside: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYID_")}
    done = subprocess.run(
        [sys.executable, "-m", "entry.cli", "verify", credential(sealed=False), "--jwks",
         str(documents["jwks"])], cwd=outside, env=env, capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == cli.EXIT_NO_STATUS_LIST, done.stderr
    assert "Traceback" not in done.stderr
    assert not (outside / "var").exists()


# --- --issuer: the published documents over HTTP ------------------------------------------------


class _Issuer(BaseHTTPRequestHandler):
    served: dict[str, tuple[bytes, str, str]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path not in self.served:
            self.send_error(404)
            return
        body, media_type, cache = self.served[self.path]
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def issuer_server() -> Iterator[tuple[str, ThreadingHTTPServer]]:
    _Issuer.served = {
        "/.well-known/cityid/jwks.json": (json.dumps(public_jwks([SIGNING])).encode(),
                                          "application/json", "public, max-age=3600"),
        "/.well-known/cityid/status-list": (status_document(), TYP, "public, max-age=600"),
    }
    _Issuer.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def test_verify_fetches_the_issuers_documents_caches_them_and_says_how_fresh(
        issuer_server: tuple[str, ThreadingHTTPServer], documents: dict[str, Path]) -> None:
    url, server = issuer_server
    args = ["verify", credential(), "--issuer", url, "--verifier-key", str(documents["verifier"])]
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["reason"] == "ok"
    assert "jwks.json: fetched now" in first.stderr and "kept for 1 h" in first.stderr
    assert "status list: issued" in first.stderr
    assert len(_Issuer.hits) == 2
    second = run(*args)
    assert second.exit_code == 0 and "jwks.json: cached copy" in second.stderr
    assert len(_Issuer.hits) == 2, "a fresh cached copy is not fetched again"
    server.shutdown()
    offline = run(*args, "--refresh")
    assert offline.exit_code == 0, offline.output
    assert "STALE, could not refresh" in offline.stderr


def test_verify_refuses_an_issuer_it_cannot_reach_or_trust_in_one_line(
        issuer_server: tuple[str, ThreadingHTTPServer], documents: dict[str, Path]) -> None:
    url, _ = issuer_server
    assert "answered 404" in one_line_error(run("verify", credential(), "--issuer",
                                                url + "/nowhere"))
    assert "https" in one_line_error(run("verify", credential(), "--issuer",
                                         "http://id.city.example"))


def test_db_upgrade_makes_an_installation_and_a_refusal_inside_it_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CITYID_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    try:
        made = run("db", "upgrade")
        assert made.exit_code == 0, made.output
        assert (tmp_path / "var" / "cityid.db").is_file()
        # Migrated, but no signing key yet (`cityid serve` makes it): a refusal, not a traceback.
        assert "signing key" in one_line_error(run("verify", "NCFXYZ"))
    finally:
        get_settings.cache_clear()


def test_keys_init_prints_a_keyring_that_can_sign_and_seal_from_the_environment() -> None:
    """The environment keyring can't be written by the service, so `keys init` must already
    hold every key issuance needs; before, it had no signing or verifier key."""
    from privacy.keyring import Keyring

    result = CliRunner().invoke(cli.main, ["keys", "init"])
    assert result.exit_code == 0, result.output
    keyring = Keyring.from_json(result.output)
    assert keyring.active_signing_kid is not None
    assert keyring.active_verifier_kid is not None
    assert keyring.active_kek in keyring.kek_began
