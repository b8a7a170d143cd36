"""Cards through the HTTP API and the database, on SQLite and PostgreSQL: issuance on approval,
images and print files, lifecycle, the published key set and status list, and verification of
what the API publishes by our verifier and by the independent claim169 decoder."""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import base45  # type: ignore[import-untyped]
import cbor2
import claim169  # type: ignore[import-untyped]
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from idcard.credential import open_qr_text
from idcard.numbers import luhn_valid
from idcard.offline import offline_check
from tests.enrollment.test_workflow import ready_for_decision
from tests.factories import KNOWN_DOB

Headers = dict[str, str]
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return FixedClock(START)


@pytest.fixture
def clerk(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("clerk")


@pytest.fixture
def supervisor(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("supervisor")


def issue_card(client: TestClient, clerk: Headers, **overrides: Any) -> dict[str, Any]:
    ref = ready_for_decision(client, clerk, today=START.date(), **overrides)
    decided = client.post(f"/v1/applications/{ref}/decision", headers=clerk,
                          json={"outcome": "approve", "reason": "rulebook_satisfied"})
    assert decided.status_code == 200, decided.text
    cards = client.get(f"/v1/applications/{ref}/cards", headers=clerk).json()
    assert len(cards) == 1
    return dict(cards[0])


def back_qr(client: TestClient, headers: Headers, card_id: str) -> str:
    png = client.get(f"/v1/cards/{card_id}/image?side=back", headers=headers).content
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR found on the card back"
    return str(results[0].text)


def installation_verifier_keys(client: TestClient) -> dict[str, bytes]:
    from idcard import service as card_service

    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return card_service.verifier_keys(runtime.cards)


def verdict(client: TestClient, qr: str, now: datetime) -> str:
    """What an entitled offline verifier answers: published keys and list, and the verifier
    keys an administrator exported."""
    jwks = client.get("/.well-known/cityid/jwks.json").json()
    status = client.get("/.well-known/cityid/status-list").content
    return offline_check(qr_text=qr, image=None, jwks=jwks, status_document=status, now=now,
                         verifier_keys=installation_verifier_keys(client)).reason.value


def exported_verifier_keys(client: TestClient, admin: Headers, approver: Headers,
                           partner_type: str = "police") -> dict[str, Any]:
    """Exported under a key ceremony: ``admin`` starts it, ``approver`` approves it."""
    partner = client.post("/v1/partners", headers=admin, json={
        "name": f"{partner_type.title()} Offline", "type": partner_type}).json()
    started = client.post("/v1/key-ceremonies", headers=admin,
                          json={"kind": "verifier_export", "partner_id": partner["id"]}).json()
    assert client.post(f"/v1/key-ceremonies/{started['id']}/approve",
                       headers=approver).status_code == 200
    response = client.post(f"/v1/partners/{partner['id']}/verifier-keys",
                           headers={**admin, "Key-Ceremony": started["id"]})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


def ed25519_verifier(jwk: dict[str, str]) -> Callable[[str, Any, bytes, bytes], None]:
    """claim169's verifier callback, over the published key and nothing else of ours."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(
        base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4)))

    def check(algorithm: str, kid: Any, data: bytes, signature: bytes) -> None:
        assert algorithm == "EdDSA"
        public.verify(signature, data)
    return check


def test_approval_issues_a_five_year_card_with_a_luhn_number(client: TestClient,
                                                             clerk: Headers) -> None:
    card = issue_card(client, clerk)
    assert card["status"] == "active" and card["issue_number"] == 1
    assert len(card["card_number"]) == 16 and luhn_valid(card["card_number"])
    assert card["valid_from"] == START.date().isoformat()
    assert card["expires_on"] == START.date().replace(year=START.year + 5).isoformat()
    assert card["fulfilment"] == "to_print"


def test_a_minor_gets_a_two_year_card(client: TestClient, clerk: Headers) -> None:
    twelve = START.date().replace(year=START.year - 12) - timedelta(days=5)
    ref = ready_for_decision(client, clerk, today=START.date(), date_of_birth=twelve.isoformat(),
                             caretaker={
        "first_name": "Ana", "last_name": "Ruiz", "relationship": "parent"})
    client.post(f"/v1/applications/{ref}/documents", headers=clerk, json={"kind": "court_order"})
    assert client.post(f"/v1/applications/{ref}/decision", headers=clerk, json={
        "outcome": "approve", "reason": "rulebook_satisfied"}).status_code == 200
    card = client.get(f"/v1/applications/{ref}/cards", headers=clerk).json()[0]
    assert card["expires_on"] == START.date().replace(year=START.year + 2).isoformat()


def test_card_images_are_cr80_at_300_dpi_and_the_back_scans_and_verifies_independently(
        client: TestClient, clerk: Headers) -> None:
    card = issue_card(client, clerk)
    for side in ("front", "back"):
        response = client.get(f"/v1/cards/{card['id']}/image?side={side}", headers=clerk)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert image.size == (1011, 638)
        assert round(image.info["dpi"][0]) == 300
    qr = back_qr(client, clerk, card["id"])
    assert verdict(client, qr, START) == "ok"


def test_a_sealed_qr_opens_in_the_independent_decoder_only_with_the_exported_verifier_key(
        client: TestClient, clerk: Headers, auth_header: Callable[[str], Headers]) -> None:
    card = issue_card(client, clerk)
    qr = back_qr(client, clerk, card["id"])  # from the rendered PNG, through zxing-cpp
    jwk = client.get("/.well-known/cityid/jwks.json").json()["keys"][0]
    public = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    # What a generic scanner holds: the text and the public key. It reads nothing.
    assert claim169.inspect(qr).cose_type == "Encrypt0"
    with pytest.raises(claim169.Claim169Exception):
        claim169.decode_with_ed25519(qr, public, skip_biometrics=True, validate_timestamps=False)
    with pytest.raises(claim169.Claim169Exception):
        claim169.decode_unverified(qr)
    for name in ("Zephyrine", "Quillfeather", KNOWN_DOB.strftime("%Y%m%d"), card["card_number"]):
        assert name not in zlib.decompress(base45.b45decode(qr)).decode("latin-1")
    exported = exported_verifier_keys(client, auth_header("admin"), auth_header("admin"))["keys"]
    assert [k["kid"] for k in exported] == [card["verifier_kid"]]
    wrong = bytes(32 - i for i in range(32))
    with pytest.raises(claim169.Claim169Exception):
        claim169.decode_encrypted_aes256(qr, wrong, verifier=ed25519_verifier(jwk))
    # The independent decoder, with nothing of ours but the published and exported keys.
    secret = base64.urlsafe_b64decode(exported[0]["k"] + "=" * (-len(exported[0]["k"]) % 4))
    decoded = claim169.decode_encrypted_aes256(qr, secret, verifier=ed25519_verifier(jwk))
    assert decoded.is_verified()
    assert decoded.claim169.id == card["card_number"]
    assert decoded.claim169.full_name == "Zephyrine Quillfeather-Abernathy"
    assert decoded.claim169.date_of_birth in (KNOWN_DOB.strftime("%Y%m%d"), KNOWN_DOB.isoformat())


def test_credentials_never_carry_nationality_legal_status_or_address(
        client: TestClient, clerk: Headers) -> None:
    card = issue_card(client, clerk)
    qr = back_qr(client, clerk, card["id"])
    message, _ = open_qr_text(qr, installation_verifier_keys(client))
    claims = cbor2.loads(message.payload)
    identity = claims[169]
    assert 13 not in identity and 22 not in identity
    assert set(identity) <= {1, 2, 3, 4, 8, 9}
    flat = repr(claims)
    for address_part in ("Evergreen", "Springfield", "11201"):
        assert address_part not in flat


def test_the_print_file_is_a_pdf(client: TestClient, clerk: Headers) -> None:
    card = issue_card(client, clerk)
    response = client.get(f"/v1/cards/{card['id']}/print.pdf", headers=clerk)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"


def test_revoking_a_card_makes_every_verifier_refuse_it(client: TestClient, clerk: Headers,
                                                        runtime: Runtime) -> None:
    card = issue_card(client, clerk)
    qr = back_qr(client, clerk, card["id"])
    revoked = client.post(f"/v1/cards/{card['id']}/revoke", headers=clerk,
                          json={"reason": "stolen"})
    assert revoked.json()["status"] == "revoked"
    assert verdict(client, qr, START) == "revoked"


def test_suspension_is_reversible(client: TestClient, clerk: Headers,
                                  supervisor: Headers) -> None:
    card = issue_card(client, clerk)
    qr = back_qr(client, clerk, card["id"])
    refused = client.post(f"/v1/cards/{card['id']}/suspend", headers=clerk,
                          json={"reason": "under_investigation"})
    assert refused.status_code == 403
    client.post(f"/v1/cards/{card['id']}/suspend", headers=supervisor,
                json={"reason": "under_investigation"})
    assert verdict(client, qr, START) == "suspended"
    client.post(f"/v1/cards/{card['id']}/unsuspend", headers=supervisor,
                json={"reason": "investigation_closed"})
    assert verdict(client, qr, START) == "ok"


def test_a_clerk_cannot_revoke_for_fraud(client: TestClient, clerk: Headers,
                                         supervisor: Headers) -> None:
    card = issue_card(client, clerk)
    refused = client.post(f"/v1/cards/{card['id']}/revoke", headers=clerk,
                          json={"reason": "fraud"})
    assert refused.status_code == 403 and refused.json()["code"] == "reason_needs_role"
    assert client.post(f"/v1/cards/{card['id']}/revoke", headers=supervisor,
                       json={"reason": "fraud"}).json()["status"] == "revoked"
    again = client.post(f"/v1/cards/{card['id']}/replace", headers=supervisor,
                        json={"reason": "lost"})
    assert again.status_code == 409


def test_a_replacement_bumps_the_issue_number_and_the_old_card_fails(
        client: TestClient, clerk: Headers) -> None:
    card = issue_card(client, clerk)
    old_qr = back_qr(client, clerk, card["id"])
    new = client.post(f"/v1/cards/{card['id']}/replace", headers=clerk,
                      json={"reason": "lost"}).json()
    assert new["issue_number"] == 2
    assert new["card_number"] == card["card_number"]
    assert new["expires_on"] == card["expires_on"]
    assert client.get(f"/v1/cards/{card['id']}", headers=clerk).json()["status"] == "revoked"
    assert verdict(client, old_qr, START) == "revoked"
    assert verdict(client, back_qr(client, clerk, new["id"]), START) == "ok"
    stale = client.post(f"/v1/cards/{card['id']}/replace", headers=clerk, json={"reason": "lost"})
    assert stale.status_code == 409 and stale.json()["code"] == "not_latest_card"


@pytest.mark.parametrize(("offset", "open_"), [
    (-timedelta(days=61), False),
    (-timedelta(days=60), True),
    (timedelta(days=0), True),
    ("six_months", True),
    ("six_months_and_a_day", False),
])
def test_renewal_opens_60_days_before_expiry_and_closes_6_months_after(
        offset: Any, open_: bool, client: TestClient, clerk: Headers, clock: FixedClock,
        auth_header: Callable[[str], Headers]) -> None:
    card = issue_card(client, clerk)
    expires = date.fromisoformat(card["expires_on"])
    if offset == "six_months":
        when = expires.replace(month=expires.month + 6) if expires.month <= 6 else \
            expires.replace(year=expires.year + 1, month=expires.month - 6)
    elif offset == "six_months_and_a_day":
        when = (expires.replace(month=expires.month + 6) if expires.month <= 6 else
                expires.replace(year=expires.year + 1, month=expires.month - 6)) + \
            timedelta(days=1)
    else:
        when = expires + offset
    clock.set(datetime.combine(when, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12))
    renewed = client.post(f"/v1/cards/{card['id']}/renew", headers=auth_header("clerk"),
                          json={})
    if open_:
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["issue_number"] == 2
        assert renewed.json()["expires_on"] == when.replace(year=when.year + 5).isoformat()
    else:
        assert renewed.status_code == 409
        assert renewed.json()["code"] == "renewal_window_closed"


def test_an_expired_card_reads_expired_everywhere(client: TestClient, clerk: Headers,
                                                 clock: FixedClock,
                                                 auth_header: Callable[[str], Headers]) -> None:
    card = issue_card(client, clerk)
    qr = back_qr(client, clerk, card["id"])
    later = datetime.combine(date.fromisoformat(card["expires_on"]) + timedelta(days=1),
                             datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
    clock.set(later)
    assert client.get(f"/v1/cards/{card['id']}", headers=auth_header("clerk")).json()[
        "status"] == "expired"
    assert verdict(client, qr, later) == "expired"


def test_signing_key_rotation_keeps_old_cards_verifying(client: TestClient, clerk: Headers,
                                                        runtime: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli

    old = issue_card(client, clerk)
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["keys", "rotate-signing"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    new = issue_card(client, clerk, first_name="Other", last_name="Person")
    assert old["kid"] != new["kid"]
    kids = {k["kid"] for k in client.get("/.well-known/cityid/jwks.json").json()["keys"]}
    assert {old["kid"], new["kid"]} <= kids
    for card in (old, new):
        assert verdict(client, back_qr(client, clerk, card["id"]), START) == "ok"


def test_es256_signing_keys_also_verify(client: TestClient, clerk: Headers,
                                        runtime: Runtime) -> None:
    from idcard.credential import generate_signing_key

    runtime.vault.add_signing_key(generate_signing_key("ES256", now=START))
    card = issue_card(client, clerk)
    jwk = next(k for k in client.get("/.well-known/cityid/jwks.json").json()["keys"]
               if k["kid"] == card["kid"])
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert verdict(client, back_qr(client, clerk, card["id"]), START) == "ok"


def test_the_status_list_is_signed_large_and_rebuilt_only_when_needed(
        client: TestClient, clerk: Headers, clock: FixedClock, runtime: Runtime) -> None:
    from idcard.statuslist import parse_status_document

    first = client.get("/.well-known/cityid/status-list")
    assert first.headers["content-type"].startswith("application/vc+cose")
    jwks = client.get("/.well-known/cityid/jwks.json").json()
    parsed = parse_status_document(first.content, jwks)
    assert parsed.size >= 131_072
    clock.advance(timedelta(hours=1))
    assert client.get("/.well-known/cityid/status-list").content == first.content
    card = issue_card(client, clerk)
    client.post(f"/v1/cards/{card['id']}/revoke", headers=clerk, json={"reason": "lost"})
    changed = client.get("/.well-known/cityid/status-list").content
    assert changed != first.content
    clock.advance(timedelta(hours=runtime.settings.status_list_ttl_hours))
    refreshed = parse_status_document(client.get("/.well-known/cityid/status-list").content, jwks)
    assert refreshed.is_fresh(clock.now())


def test_the_offline_cli_verifies_from_an_image_and_saved_files(
        client: TestClient, clerk: Headers, tmp_path: Any, runtime: Runtime,
        auth_header: Callable[[str], Headers]) -> None:
    from click.testing import CliRunner

    from entry import cli

    card = issue_card(client, clerk)
    image = tmp_path / "back.png"
    image.write_bytes(client.get(f"/v1/cards/{card['id']}/image?side=back",
                                 headers=clerk).content)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(client.get("/.well-known/cityid/jwks.json").text)
    status = tmp_path / "status-list"
    status.write_bytes(client.get("/.well-known/cityid/status-list").content)
    verifier = tmp_path / "verifier-keys.json"
    verifier.write_text(json.dumps(exported_verifier_keys(
        client, auth_header("admin"), auth_header("admin"), "bank")))
    at = ["--at", (START + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S%z")]
    ok = CliRunner().invoke(cli.main, ["verify", "--image", str(image), "--jwks", str(jwks),
                                       "--status-list", str(status), "--verifier-key",
                                       str(verifier), *at])
    assert ok.exit_code == 0, ok.output
    assert '"reason": "ok"' in ok.output and card["card_number"] in ok.output
    sealed = CliRunner().invoke(cli.main, ["verify", "--image", str(image), "--jwks", str(jwks),
                                           "--status-list", str(status), *at])
    assert sealed.exit_code == 3 and '"reason": "unknown_key"' in sealed.output
    assert card["card_number"] not in sealed.output
    stale = tmp_path / "empty"
    stale.write_bytes(b"not a list")
    refused = CliRunner().invoke(cli.main, ["verify", "--image", str(image), "--jwks", str(jwks),
                                            "--status-list", str(stale), "--verifier-key",
                                            str(verifier), *at])
    assert refused.exit_code == 3
    assert '"reason": "status_list_stale"' in refused.output


def test_the_batch_print_marks_cards_printed_and_shows_progress(
        client: TestClient, clerk: Headers, runtime: Runtime, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cityid.settings import get_settings
    from entry import cli

    first = issue_card(client, clerk)
    second = issue_card(client, clerk, first_name="Other", last_name="Person")
    monkeypatch.setenv("CITYID_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("CITYID_DATABASE_URL", runtime.settings.effective_database_url)
    get_settings.cache_clear()
    out = tmp_path / "batch.pdf"
    try:
        printed = CliRunner().invoke(cli.main, ["cards", "print", "--status", "approved",
                                                "--out", str(out)])
        again = CliRunner().invoke(cli.main, ["cards", "print", "--out", str(tmp_path / "b2")])
    finally:
        get_settings.cache_clear()
    assert printed.exit_code == 0, printed.output
    assert "printed 2 cards" in printed.output
    assert "rendering cards" in printed.output  # the progress bar
    assert out.read_bytes().startswith(b"%PDF")
    assert "no cards are waiting" in again.output
    for card in (first, second):
        assert client.get(f"/v1/cards/{card['id']}", headers=clerk).json()["fulfilment"] == \
            "printed"


def test_concurrent_revocations_both_reach_the_status_list(client: TestClient, clerk: Headers,
                                                           runtime: Runtime) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from idcard.statuslist import parse_status_document

    cards = [issue_card(client, clerk, first_name=f"Holder{i}") for i in range(4)]
    qrs = [back_qr(client, clerk, c["id"]) for c in cards]

    def revoke(card: dict[str, Any]) -> int:
        response = client.post(f"/v1/cards/{card['id']}/revoke", headers=clerk,
                               json={"reason": "lost"})
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(revoke, cards)) == [200] * 4
    jwks = client.get("/.well-known/cityid/jwks.json").json()
    parse_status_document(client.get("/.well-known/cityid/status-list").content, jwks)
    assert [verdict(client, qr, START) for qr in qrs] == ["revoked"] * 4
