"""The rows of a batch of synthetic cardholders (``cityid seed``), made in a worker process or
inline, and written: COPY on PostgreSQL, executemany on SQLite.

Each cardholder's rows are what enrollment and issuing write for an approved adult, sealed as the
models declare their fields (``__sealed__``), through the same vault the services use."""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Dialect, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityid.clock import FixedClock
from cityid.db import Base
from enrollment import service as enrollment
from enrollment.models import Application, Resident
from enrollment.reference import new_reference, normalise_reference
from enrollment.residents import age_on, resident_fields
from enrollment.rulebook import DocumentCredit, Rulebook
from enrollment.service import EnrollmentDesk, Holder
from enrollment.states import ApplicationStatus
from idcard import service as cards
from idcard.credential import issue_credential
from idcard.models import Card
from idcard.seed_people import Person, invent_person
from idcard.service import CardDesk
from idcard.states import CardStatus
from privacy.key_providers import LoadedKeyring
from privacy.keyring import Keyring, SigningKey, VerifierKey
from privacy.normalise import normalise_person
from privacy.vault import DataKeyHandle, Vault, wrap_dek

SYNTHETIC_CLERK = "seed"
DEK_BYTES = 32

# Column order of the rows a batch carries, per table, in the order the tables are written.
COLUMNS: dict[str, tuple[str, ...]] = {
    "data_keys": ("owner_id", "kek_version", "wrapped_dek", "created_at"),
    "residents": ("id", "first_name_enc", "middle_name_enc", "last_name_enc",
                  "date_of_birth_enc", "address_enc", "care_of_enc", "phone_enc", "email_enc",
                  "designations_enc", "person_index", "created_at"),
    "applications": ("id", "resident_id", "reference_index", "reference_enc", "status",
                     "delivery", "caretaker_enc", "created_by", "created_at", "updated_at",
                     "decided_by", "decided_at", "decision_reason", "rulebook_override",
                     "rulebook_fingerprint"),
    "application_documents": ("id", "application_id", "category", "points", "shows_photo",
                              "shows_dob", "checked_by", "checked_at"),
    "cards": ("id", "resident_id", "application_id", "card_number_index", "card_number_enc",
              "issue_number", "status", "status_reason", "status_changed_at", "status_index",
              "kid", "issued_at", "valid_from", "expires_on", "credential_enc", "fulfilment",
              "printed_at", "replaces_id", "verifier_kid"),
}

Row = tuple[Any, ...]
# The residents' sealed columns, in COLUMNS order (between the id and the person index).
RESIDENT_SEALED_COLUMNS = COLUMNS["residents"][1:-2]


# --- what a worker needs -------------------------------------------------------------------


@dataclass(frozen=True)
class SeedContext:
    keyring: Keyring
    signing_key: SigningKey
    sealing_key: VerifierKey | None
    rulebook: Rulebook
    issuer: str
    issuer_name: str
    documents: tuple[DocumentCredit, ...]
    decision_reason: str
    youngest: int
    # PostgreSQL is written by COPY, which takes naive UTC times; SQLite through SQLAlchemy,
    # whose UTCDateTime takes aware ones.
    postgres: bool

    def desk(self, now: datetime) -> CardDesk:
        """A desk for sealing, indexing and signing; nothing on it reads the database."""
        vault = Vault(LoadedKeyring(self.keyring), FixedClock(now))
        return CardDesk(enrollment=EnrollmentDesk(vault=vault, rulebook=self.rulebook,
                                                  clock=FixedClock(now), max_photo_bytes=0),
                        issuer=self.issuer, issuer_name=self.issuer_name,
                        status_list_ttl=timedelta(hours=1))


@dataclass(frozen=True)
class BatchSpec:
    now: datetime
    status_indexes: tuple[int, ...]
    card_numbers: tuple[str, ...]


@dataclass
class Rows:
    """One batch of synthetic cardholders, as rows per table in ``COLUMNS`` order."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in COLUMNS})

    @property
    def count(self) -> int:
        return len(self.tables["cards"])


# --- making a batch (in a worker process, or inline) ---------------------------------------


def _cardholder(context: SeedContext, desk: CardDesk, rows: Rows, person: Person, *,
                now: datetime, stamp: datetime, status_index: int, card_number: str) -> None:
    """The rows ``create_application``, approval and ``issue_for_application`` would write."""
    today, vault, keyring = now.date(), desk.vault, context.keyring
    resident_id, application_id, card_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    data = person.data

    # Vault.create_data_key, without the session: the parent writes the row.
    dek = secrets.token_bytes(DEK_BYTES)
    rows.tables["data_keys"].append(
        (resident_id, keyring.active_kek,
         wrap_dek(vault.provider, resident_id, dek, keyring.active_kek), stamp))
    key = DataKeyHandle(resident_id, dek)

    sealed = key.sealed_columns(Resident, resident_id, {
        **resident_fields(data), "care_of": None, "phone": person.phone, "email": person.email,
        "designations": person.designations.model_dump()})
    rows.tables["residents"].append((
        resident_id, *(sealed[column] for column in RESIDENT_SEALED_COLUMNS),
        vault.blind_index("person", normalise_person(data.first_name, data.last_name,
                                                     data.date_of_birth)),
        stamp))

    reference = new_reference()
    rows.tables["applications"].append((
        application_id, resident_id,
        enrollment.reference_index(desk.enrollment, normalise_reference(reference)),
        key.sealed_columns(Application, application_id, {"reference": reference})["reference_enc"],
        ApplicationStatus.CARD_ISSUED, "mail" if data.address else "pickup", None,
        SYNTHETIC_CLERK, stamp, stamp, SYNTHETIC_CLERK, stamp, context.decision_reason, False,
        context.rulebook.fingerprint))
    for credit in context.documents:
        rows.tables["application_documents"].append((
            uuid.uuid4(), application_id, credit.category.value, credit.points,
            credit.shows_photo, credit.shows_dob, SYNTHETIC_CLERK, stamp))

    holder = Holder(resident_id=resident_id, first_name=data.first_name,
                    middle_name=data.middle_name, last_name=data.last_name,
                    date_of_birth=data.date_of_birth, address=data.address, care_of=None,
                    designations=person.designations)
    years = context.rulebook.card_validity_years(age_on(data.date_of_birth, today))
    expires_on = cards.add_years(today, years)
    credential = issue_credential(
        cards.card_claims(holder, card_number, 1), key=context.signing_key, issuer=context.issuer,
        issued_at=now, not_before=datetime.combine(today, time(0), tzinfo=UTC),
        expires_at=cards.end_of_day(expires_on), status_index=status_index,
        seal_with=context.sealing_key, signer=desk.vault.sign)
    sealed_card = key.sealed_columns(Card, card_id, {"card_number": card_number,
                                                     "credential": credential})
    rows.tables["cards"].append((
        card_id, resident_id, application_id, cards.number_index(desk, card_number),
        sealed_card["card_number_enc"], 1, CardStatus.ACTIVE, None, None,
        status_index, context.signing_key.kid, stamp, today, expires_on,
        sealed_card["credential_enc"], "printed", stamp, None,
        context.sealing_key.kid if context.sealing_key is not None else None))


def make_batch(context: SeedContext, spec: BatchSpec) -> Rows:
    # Names and addresses of invented people: nothing here is secret. Keys, nonces, references,
    # card numbers and status indexes all come from `secrets`.
    rng = random.Random(secrets.randbits(64))  # noqa: S311
    desk = context.desk(spec.now)
    stamp = spec.now.replace(tzinfo=None) if context.postgres else spec.now
    rows = Rows()
    for status_index, card_number in zip(spec.status_indexes, spec.card_numbers, strict=True):
        person = invent_person(rng, spec.now.date(), context.youngest)
        _cardholder(context, desk, rows, person, now=spec.now, stamp=stamp,
                    status_index=status_index, card_number=card_number)
    return rows


_worker_context: SeedContext | None = None


def start_worker(context: SeedContext) -> None:
    global _worker_context
    _worker_context = context


def make_batch_in_worker(spec: BatchSpec) -> Rows:
    assert _worker_context is not None
    return make_batch(_worker_context, spec)


# --- writing -------------------------------------------------------------------------------


# PostgreSQL's names for the binary COPY format, by how SQLAlchemy spells the column types.
_PG_TYPE_NAMES = {"timestamp without time zone": "timestamp", "integer": "int4",
                  "bigint": "int8", "boolean": "bool"}


@cache
def _pg_types(table: str, dialect: Dialect) -> tuple[str, ...]:
    columns = Base.metadata.tables[table].c
    names = (columns[name].type.compile(dialect=dialect).lower().split("(")[0]
             for name in COLUMNS[table])
    return tuple(_PG_TYPE_NAMES.get(name, name) for name in names)


def copy_rows(session: Session, rows: Rows) -> None:
    import psycopg
    from psycopg import sql

    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        for table, data in rows.tables.items():
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table])))
            try:
                with cursor.copy(statement) as copy:
                    copy.set_types(list(_pg_types(table, session.get_bind().dialect)))
                    for row in data:
                        copy.write_row(row)
            except psycopg.errors.IntegrityError as exc:
                # COPY runs beneath SQLAlchemy; report a clash the way an INSERT would.
                raise IntegrityError(f"COPY {table}", None, exc) from exc


def insert_rows(session: Session, rows: Rows) -> None:
    for table, data in rows.tables.items():
        if data:
            columns = COLUMNS[table]
            session.execute(insert(Base.metadata.tables[table]),
                            [dict(zip(columns, row, strict=True)) for row in data])
