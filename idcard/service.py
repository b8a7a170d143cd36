"""Cards: issuing an approved application's card, its lifecycle, images and print files, the
published key set and the signed status list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from PIL import Image
from sqlalchemy.orm import Session

from cityid.clock import Clock
from enrollment import service as enrollment
from enrollment.service import EnrollmentDesk, Holder, age_on
from fees import service as fees
from fees.schedule import FeeKind
from fees.service import FeeDesk
from idcard import lifecycle, render, repository
from idcard.cose import verifier_jwks
from idcard.credential import (
    CardClaims,
    generate_signing_key,
    generate_verifier_key,
    issue_credential,
    public_jwks,
)
from idcard.errors import CardNotFound, CardNotPrintable, NoSigningKey, NoVerifierKey

# Issuing and seeding build a card's dates the one way the lifecycle counts them.
from idcard.lifecycle import add_years as add_years
from idcard.lifecycle import end_of_day as end_of_day
from idcard.models import Card
from idcard.numbers import generate_card_number
from idcard.schemas import CardOut
from idcard.states import CardStatus
from idcard.statuslist import MIN_SIZE, build_status_document, random_free_index
from notifications import service as notices
from notifications.service import NoticeDesk
from privacy import audit
from privacy.audit import Actor
from privacy.keyring import SigningKey, VerifierKey
from privacy.vault import Vault

CARDS = "cards"
Side = Literal["front", "back"]

# ISO 639-1 (what applicants choose) to ISO 639-3 (what Claim 169 carries).
LANGUAGE_639_3 = {"en": "eng", "es": "spa", "zh": "zho", "ru": "rus", "bn": "ben", "ht": "hat",
                  "ko": "kor", "ar": "ara", "fr": "fra", "pl": "pol", "it": "ita", "ur": "urd",
                  "yi": "yid", "ja": "jpn", "pt": "por", "hi": "hin", "tl": "tgl", "vi": "vie"}
GENDER_WORDS = {"F": "female", "M": "male", "X": "other"}


@dataclass(frozen=True)
class CardDesk:
    enrollment: EnrollmentDesk
    issuer: str
    issuer_name: str
    status_list_ttl: timedelta
    status_list_url: str | None = None
    status_list_size: int = MIN_SIZE
    # Seal QRs under the verifier key (Claim 169's COSE_Encrypt0); off gives plain signed QRs.
    seal_qr: bool = True

    @property
    def vault(self) -> Vault:
        return self.enrollment.vault

    @property
    def clock(self) -> Clock:
        return self.enrollment.clock


def card_pseudonym(desk: CardDesk, card_id: uuid.UUID) -> str:
    return desk.vault.pseudonym("card", card_id)


def number_index(desk: CardDesk, card_number: str) -> str:
    return desk.vault.blind_index("card-number", card_number)


def ensure_signing_key(vault: Vault, now: datetime) -> SigningKey:
    """Make the first card signing key and the first QR verifier key. Called once before
    workers start (``cityid serve``), never per request, so two processes can't each make a key
    and lose one. An installation from before sealing gets its verifier key here."""
    key = vault.active_signing_key()
    if key is None:
        vault.add_signing_key(generate_signing_key("EdDSA", now=now,
                                                   held=vault.provider.holds_keys))
        # Read back: a key made in a token has its public half only once the token made it.
        key = vault.active_signing_key()
        assert key is not None
    # A keyring from the environment can't be written here: until its operator adds a verifier
    # key (`cityid keys rotate-verifier --out`), sealed issuance answers `no_verifier_key`.
    if vault.active_verifier_key() is None and vault.provider.writable:
        vault.add_verifier_key(generate_verifier_key(now=now))
    return key


def _signing_key(desk: CardDesk) -> SigningKey:
    key = desk.vault.active_signing_key()
    if key is None:
        raise NoSigningKey()
    return key


def sealing_key(desk: CardDesk) -> VerifierKey | None:
    """The verifier key new QRs are sealed under, or None when the city turned sealing off."""
    if not desk.seal_qr:
        return None
    key = desk.vault.active_verifier_key()
    if key is None:
        raise NoVerifierKey()
    return key


_verifier_cache: dict[tuple[str, ...], dict[str, bytes]] = {}


def verifier_keys(desk: CardDesk) -> dict[str, bytes]:
    """Every verifier key this installation ever sealed with, by kid: the server opens any QR it
    sealed, whatever key sealing uses today."""
    keys = desk.vault.verifier_keys()
    ident = tuple(k.kid for k in keys)
    if ident not in _verifier_cache:
        _verifier_cache.clear()
        _verifier_cache[ident] = {k.kid: k.key for k in keys}
    return _verifier_cache[ident]


def verifier_keys_in_use(session: Session, *, desk: CardDesk) -> list[VerifierKey]:
    """The active verifier key and every older one that sealed a card not yet expired."""
    in_use = repository.verifier_kids_in_use(session, desk.clock.today())
    active = desk.vault.active_verifier_key()
    return [k for k in desk.vault.verifier_keys()
            if k.kid in in_use or (active is not None and k.kid == active.kid)]


def export_verifier_keys(session: Session, *, desk: CardDesk, actor: Actor,
                         recipient: str) -> dict[str, list[dict[str, str]]]:
    """The verifier keys an entitled offline verifier needs, as a JWK Set. Whoever holds them
    reads every sealed QR, so each export is audited with who received it and which kids."""
    keys = verifier_keys_in_use(session, desk=desk)
    if not keys:
        raise NoVerifierKey()
    audit.record(session, actor=actor, action="keys.verifier_exported", subject=recipient,
                 clock=desk.clock, detail={"kids": ".".join(k.kid for k in keys)[:64]})
    return verifier_jwks(keys)


def effective_status(card: Card, today: date) -> CardStatus:
    return lifecycle.effective_status(card.status, card.expires_on, today)


# --- issuing --------------------------------------------------------------------------------


def card_claims(holder: Holder, card_number: str, issue_number: int) -> CardClaims:
    languages = holder.designations.languages
    return CardClaims(
        card_number=card_number, issue_number=issue_number,
        language=LANGUAGE_639_3.get(languages[0], "eng") if languages else "eng",
        full_name=holder.full_name, date_of_birth=holder.date_of_birth,
        gender=GENDER_WORDS.get(holder.designations.gender or ""))


def new_card(session: Session, desk: CardDesk, actor: Actor, *, holder: Holder,
              card_number: str, issue_number: int, valid_from: date, expires_on: date,
              application_id: uuid.UUID | None, replaces: Card | None,
              fee_kind: FeeKind) -> Card:
    """A card, signed and sealed, with the fee its kind of issue costs (fees/schedule.yaml)
    computed in the same transaction, so no card is made without its fee."""
    key = _signing_key(desk)
    seal = sealing_key(desk)
    now = desk.clock.now()
    status_index = random_free_index(lambda i: repository.status_index_taken(session, i),
                                     size=desk.status_list_size)
    credential = issue_credential(
        card_claims(holder, card_number, issue_number), key=key, issuer=desk.issuer,
        issued_at=now, not_before=datetime.combine(valid_from, time(0), tzinfo=UTC),
        expires_at=end_of_day(expires_on), status_index=status_index, seal_with=seal,
        signer=desk.vault.sign)
    card_id = uuid.uuid4()
    sealed = desk.vault.open_data_key(session, holder.resident_id).record(CARDS, card_id)
    card = Card(
        id=card_id, resident_id=holder.resident_id, application_id=application_id,
        card_number_index=number_index(desk, card_number),
        card_number_enc=sealed.seal("card_number", card_number.encode()),
        issue_number=issue_number, status=CardStatus.ACTIVE, status_reason=None,
        status_index=status_index, kid=key.kid,
        verifier_kid=seal.kid if seal is not None else None, issued_at=now, valid_from=valid_from,
        expires_on=expires_on, credential_enc=sealed.seal("credential", credential.encode()),
        fulfilment="to_print", replaces_id=replaces.id if replaces else None)
    repository.add(session, card)
    audit.record(session, actor=actor, action="card.issued", subject=card_pseudonym(desk, card.id),
                 clock=desk.clock, detail={"issue_number": issue_number, "kid": key.kid})
    fees.charge(session, desk=FeeDesk(desk.vault, desk.clock), actor=actor, card_id=card.id,
                kind=fee_kind, date_of_birth=holder.date_of_birth)
    return card


def issue_for_application(session: Session, *, desk: CardDesk, actor: Actor,
                          application_id: uuid.UUID, resident_id: uuid.UUID) -> Card:
    holder = enrollment.read_holder(session, vault=desk.vault, resident_id=resident_id)
    today = desk.clock.today()
    years = desk.enrollment.rulebook.card_validity_years(age_on(holder.date_of_birth, today))
    number = generate_card_number(
        lambda n: repository.number_taken(session, number_index(desk, n)))
    return new_card(session, desk, actor, holder=holder, card_number=number, issue_number=1,
                     valid_from=today, expires_on=add_years(today, years),
                     application_id=application_id, replaces=None,
                     fee_kind=FeeKind.NEW_CARD)


# --- reading --------------------------------------------------------------------------------


def load_card(session: Session, card_id: uuid.UUID, *, for_update: bool = False) -> Card:
    card = repository.get(session, card_id, for_update=for_update)
    if card is None:
        raise CardNotFound()
    return card


def card_number_of(session: Session, desk: CardDesk, card: Card) -> str:
    sealed = desk.vault.open_data_key(session, card.resident_id).record(CARDS, card.id)
    return sealed.open("card_number", card.card_number_enc).decode()


def credential_of(session: Session, desk: CardDesk, card: Card) -> str:
    sealed = desk.vault.open_data_key(session, card.resident_id).record(CARDS, card.id)
    return sealed.open("credential", card.credential_enc).decode()


def card_out(session: Session, desk: CardDesk, card: Card) -> CardOut:
    return CardOut(id=card.id, card_number=card_number_of(session, desk, card),
                   issue_number=card.issue_number,
                   status=effective_status(card, desk.clock.today()),
                   status_reason=card.status_reason, valid_from=card.valid_from,
                   expires_on=card.expires_on, issued_at=card.issued_at, kid=card.kid,
                   verifier_kid=card.verifier_kid,
                   fulfilment=card.fulfilment, replaces_id=card.replaces_id)


def get_card(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID) -> CardOut:
    card = load_card(session, card_id)
    audit.record(session, actor=actor, action="card.viewed", subject=card_pseudonym(desk, card.id),
                 clock=desk.clock)
    return card_out(session, desk, card)


def cards_for_application(session: Session, *, desk: CardDesk, actor: Actor,
                          reference: str) -> list[CardOut]:
    application = enrollment.find_application(session, desk=desk.enrollment, reference=reference)
    cards = repository.cards_of_resident(session, application.resident_id)
    return [card_out(session, desk, c) for c in cards]


def _face(desk: CardDesk, holder: Holder, card_number: str, card: Card) -> render.CardFace:
    d = holder.designations
    words = [f"Gender: {d.gender}"] if d.gender else []
    words += ["Veteran"] if d.veteran else []
    words += ["Organ donor"] if d.organ_donor else []
    if d.languages:
        words.append("Languages: " + ", ".join(d.languages))
    address = care_of = None
    if holder.address:
        a = holder.address
        address = ", ".join(p for p in (a.line1, a.line2, f"{a.city} {a.state} {a.postal_code}")
                            if p)
    elif holder.care_of:
        c = holder.care_of
        care_of = f"c/o {c.organisation}, {c.line1}, {c.city} {c.state} {c.postal_code}"
    return render.CardFace(full_name=holder.full_name, date_of_birth=holder.date_of_birth,
                           card_number=card_number, expires_on=card.expires_on,
                           issuer_name=desk.issuer_name, designations=tuple(words),
                           address=address, care_of_address=care_of)


def _front(session: Session, desk: CardDesk, card: Card) -> Image.Image:
    holder = enrollment.read_holder(session, vault=desk.vault, resident_id=card.resident_id)
    photo = enrollment.read_photo(session, vault=desk.vault, resident_id=card.resident_id)
    return render.render_front(_face(desk, holder, card_number_of(session, desk, card), card),
                               photo)


def _back(session: Session, desk: CardDesk, card: Card) -> Image.Image:
    return render.render_back(credential_of(session, desk, card), issuer_name=desk.issuer_name)


def _render_sides(session: Session, desk: CardDesk, card: Card) -> tuple[Image.Image,
                                                                          Image.Image]:
    return _front(session, desk, card), _back(session, desk, card)


def card_image(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID,
               side: Side) -> bytes:
    card = load_card(session, card_id)
    image = _front(session, desk, card) if side == "front" else _back(session, desk, card)
    audit.record(session, actor=actor, action="card.rendered",
                 subject=card_pseudonym(desk, card.id), clock=desk.clock, detail={"side": side})
    return render.png_bytes(image)


def card_pdf(session: Session, *, desk: CardDesk, actor: Actor, card_id: uuid.UUID) -> bytes:
    card = load_card(session, card_id)
    # A revoked, suspended or expired card is never printed: it would be handed out as valid.
    if effective_status(card, desk.clock.today()) != CardStatus.ACTIVE:
        raise CardNotPrintable()
    pdf = render.render_pdf([_render_sides(session, desk, card)])
    audit.record(session, actor=actor, action="card.print_file",
                 subject=card_pseudonym(desk, card.id), clock=desk.clock)
    return pdf


def print_batch(session: Session, *, desk: CardDesk, actor: Actor, fulfilment: Sequence[str],
                write: Callable[[bytes], None],
                progress: Callable[[int, int], None] | None = None) -> int:
    """Render every card waiting in ``fulfilment`` into one PDF, hand it to ``write``, then mark
    the cards printed. If writing fails nothing is marked, so the cards stay in the queue."""
    cards = list(repository.cards_to_print(session, fulfilment))
    pages = []
    for done, card in enumerate(cards, start=1):
        pages.append(_render_sides(session, desk, card))
        if progress:
            progress(done, len(cards))
    if not cards:
        return 0
    write(render.render_pdf(pages))
    now = desk.clock.now()
    for card in cards:
        card.fulfilment, card.printed_at = "printed", now
    session.flush()
    for card in cards:
        notices.card_printed(session, card, desk=NoticeDesk(desk.vault, desk.clock))
    audit.record(session, actor=actor, action="cards.printed", clock=desk.clock,
                 detail={"count": len(cards)})
    return len(cards)


# --- publication: key set and status list ---------------------------------------------------


def published_keys(session: Session, *, desk: CardDesk) -> dict[str, list[dict[str, str]]]:
    """The active key, and every older key that signed a card not yet expired."""
    in_use = repository.kids_in_use(session, desk.clock.today())
    active = desk.vault.active_signing_key()
    keys = [k for k in desk.vault.signing_keys()
            if k.kid in in_use or (active is not None and k.kid == active.kid)]
    return public_jwks(keys)


def rebuild_status_list(session: Session, *, desk: CardDesk) -> bytes:
    stored = repository.lock_status_list(session)
    assert stored is not None
    now = desk.clock.now()
    document = build_status_document(
        repository.flagged_indexes(session, CardStatus.REVOKED),
        repository.flagged_indexes(session, CardStatus.SUSPENDED),
        key=_signing_key(desk), issuer=desk.issuer, issued_at=now, ttl=desk.status_list_ttl,
        list_url=desk.status_list_url, size=desk.status_list_size, signer=desk.vault.sign)
    stored.document, stored.issued_at, stored.valid_until = document, now, now + \
        desk.status_list_ttl
    session.flush()
    return document


def status_list(session: Session, *, desk: CardDesk) -> tuple[bytes, datetime]:
    """The signed list, rebuilt only when it has used half its time to live (or never was)."""
    stored = repository.get_status_list(session)
    now = desk.clock.now()
    if stored is None or not stored.document or \
            now - stored.issued_at >= desk.status_list_ttl / 2:
        document = rebuild_status_list(session, desk=desk)
        return document, now + desk.status_list_ttl
    return stored.document, stored.valid_until
