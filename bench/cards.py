"""Card benchmarks, each next to a baseline measured in the same run.

- Offline verifications per second: our verifier (signature, time window, status list) against
  the ``claim169`` package's ``decode_with_ed25519`` (signature and time window) on the same
  credentials, for plain signed QRs and for sealed ones (COSE_Encrypt0 under a verifier key;
  claim169's ``decode_encrypted_aes256`` with an Ed25519 check it calls back into Python for).
- Card images per second (front and back, PNG-encoded) against rendering the QR alone.
- A print-ready PDF for a batch of freshly rendered cards. Selecting the cards and marking them
  printed needs the database and is not measured here.

Run: ``.venv/bin/python bench/cards.py [--credentials 300] [--runs 5] [--images 40]
[--batch 1000]``. Figures are medians over ``--runs`` runs on one core.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

import claim169  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from idcard.credential import (
    CardClaims,
    generate_signing_key,
    generate_verifier_key,
    issue_credential,
    public_jwks,
)
from idcard.numbers import generate_card_number
from idcard.qr_image import qr_image
from idcard.render import (
    CARD_HEIGHT_PX,
    CardFace,
    png_bytes,
    render_back,
    render_front,
    render_pdf,
)
from idcard.statuslist import (
    build_status_document,
    parse_status_document,
    random_free_index,
)
from idcard.verifier import Reason, verify_credential

NAMES = ("Zoë Ñúñez", "Анна Петрова", "Αλέξανδρος Παπαδόπουλος", "王小明", "محمد بن عبد الله",
         "Maria José Gonçalves da Silva")


def median_rate(work: Callable[[], int], runs: int) -> float:
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - start))
    return statistics.median(rates)


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 800), (176, 140, 120)).save(out, "JPEG", quality=90)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)

    now = datetime.now(UTC)
    issuer = "https://id.city.example"
    key = generate_signing_key("EdDSA", now=now)
    jwks = public_jwks([key])
    public = base64.urlsafe_b64decode(jwks["keys"][0]["x"] + "=")
    seal = generate_verifier_key(now=now)
    verifier_keys = {seal.kid: seal.key}
    taken: set[int] = set()
    credentials: list[str] = []
    sealed: list[str] = []
    for n in range(args.credentials):
        index = random_free_index(taken.__contains__)
        taken.add(index)
        claims = CardClaims(generate_card_number(), 1, "eng", NAMES[n % len(NAMES)],
                            date(1960 + n % 50, 1 + n % 12, 1 + n % 28),
                            ("male", "female", "other", None)[n % 4])
        for out, seal_with in ((credentials, None), (sealed, seal)):
            out.append(issue_credential(
                claims, key=key, issuer=issuer, issued_at=now,
                not_before=now - timedelta(minutes=1), expires_at=now + timedelta(days=1460),
                status_index=index, seal_with=seal_with))
    revoked = set(list(taken)[: len(taken) // 10])
    status = parse_status_document(
        build_status_document(revoked, set(), key=key, issuer=issuer, issued_at=now,
                              ttl=timedelta(hours=24)), jwks)

    reasons = {verify_credential(c, jwks=jwks, status=status, now=now).reason
               for c in credentials}
    assert reasons <= {Reason.OK, Reason.REVOKED}, reasons
    for c in credentials:
        assert claim169.decode_with_ed25519(c, public).is_verified()
    public_key = Ed25519PublicKey.from_public_bytes(public)

    def ed25519(algorithm: str, kid: object, data: bytes, signature: bytes) -> None:
        public_key.verify(signature, data)

    assert {verify_credential(c, jwks=jwks, status=status, now=now,
                              verifier_keys=verifier_keys).reason
            for c in sealed} <= {Reason.OK, Reason.REVOKED}
    for c in sealed:
        assert claim169.decode_encrypted_aes256(c, seal.key, verifier=ed25519).is_verified()

    def ours() -> int:
        for c in credentials:
            verify_credential(c, jwks=jwks, status=status, now=now)
        return len(credentials)

    def reference() -> int:
        for c in credentials:
            claim169.decode_with_ed25519(c, public)
        return len(credentials)

    def ours_sealed() -> int:
        for c in sealed:
            verify_credential(c, jwks=jwks, status=status, now=now, verifier_keys=verifier_keys)
        return len(sealed)

    def reference_sealed() -> int:
        for c in sealed:
            claim169.decode_encrypted_aes256(c, seal.key, verifier=ed25519)
        return len(sealed)

    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus, claim169 {claim169.__version__}; medians of {args.runs} runs")
    mean_length = statistics.mean(map(len, credentials))
    print(f"credentials: {len(credentials)}, mean QR text {mean_length:.0f} characters")
    ours_rate = median_rate(ours, args.runs)
    reference_rate = median_rate(reference, args.runs)
    print(f"verify  ours (sig + window + status list): {ours_rate:9.0f} /s")
    print(f"verify  claim169.decode_with_ed25519:      {reference_rate:9.0f} /s")
    print(f"verify  ratio ours / claim169:             {ours_rate / reference_rate:9.2f}")
    print(f"sealed: mean QR text {statistics.mean(map(len, sealed)):.0f} characters")
    ours_sealed_rate = median_rate(ours_sealed, args.runs)
    reference_sealed_rate = median_rate(reference_sealed, args.runs)
    print(f"sealed  ours (open + sig + window + list): {ours_sealed_rate:9.0f} /s")
    print(f"sealed  claim169.decode_encrypted_aes256:  {reference_sealed_rate:9.0f} /s")
    print(f"sealed  ratio ours / claim169:             "
          f"{ours_sealed_rate / reference_sealed_rate:9.2f}")

    photo = photo_bytes()
    sample = credentials[: args.images]
    faces = [CardFace(full_name=NAMES[n % len(NAMES)], date_of_birth=date(1990, 1, 2),
                      card_number=generate_card_number(), expires_on=date(2030, 1, 1),
                      issuer_name="City of Example", designations=("Veteran", "Organ donor"),
                      address="1200 Market Street, Apt 4B" if n % 2 else None)
             for n in range(len(sample))]
    render_front(faces[0], photo)  # load fonts before timing

    def cards() -> int:
        for card_face, text in zip(faces, sample, strict=True):
            png_bytes(render_front(card_face, photo))
            png_bytes(render_back(text, issuer_name="City of Example"))
        return len(sample)

    def qr_alone() -> int:
        for text in sample:
            png_bytes(qr_image(text, CARD_HEIGHT_PX - 40))
        return len(sample)

    card_rate = median_rate(cards, args.runs)
    qr_rate = median_rate(qr_alone, args.runs)
    print(f"images  card, front + back as PNG:         {card_rate:9.1f} /s")
    print(f"images  QR alone as PNG:                   {qr_rate:9.1f} /s")
    print(f"images  ratio card / QR alone:             {card_rate / qr_rate:9.2f}")

    if args.batch:
        def batch() -> Iterator[tuple[Image.Image, Image.Image]]:
            for n in range(args.batch):
                card_face = dataclasses.replace(faces[n % len(faces)],
                                                card_number=generate_card_number())
                yield (render_front(card_face, photo),
                       render_back(credentials[n % len(credentials)]))

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        pdf = render_pdf(batch())
        seconds = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"pdf     {args.batch} cards rendered into one PDF:  {seconds:7.1f} s, "
              f"{len(pdf) / 1e6:.1f} MB, peak RSS {rss_before / 1024:.0f} -> "
              f"{rss_after / 1024:.0f} MB (no database)")

if __name__ == "__main__":
    main()
