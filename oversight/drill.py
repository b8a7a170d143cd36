"""The subpoena drill: what could someone read from a copy of the database without the keys?

It reads a dump (a SQLite file, or a plain-SQL pg_dump), classifies every column, and searches
every value for personal data in the clear: names, dates of birth, street addresses, photos,
and any known values the operator supplies as canaries. It also confirms that no column or JSON
key can hold a field the program promises never to collect, and that no stored value holds a
word about immigration status: every text value and JSON string that is not ciphertext or a
keyed hash is checked against the word list in privacy/immigration_terms.yaml (English and the
status page's seven other languages). It names where such a word is, never the value. With the
keys, it reports what a lawful order could obtain from the live database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from oversight import repository
from privacy.forbidden import canonical, forbidden_names
from privacy.terms import holds_immigration_term, immigration_terms
from privacy.vault import Vault

SEALED = 0x01
MIN_SEALED = 1 + 12 + 16
COMMON_NAMES = frozenset(
    word for line in resources.files("oversight").joinpath("common_names.txt").read_text()
    .splitlines() if not line.startswith("#") for word in line.split())
STREET = re.compile(r"\b\d{1,5}\s+(?:[A-Za-z0-9.'-]+\s+){1,4}(?:street|st|avenue|ave|road|rd|"
                    r"boulevard|blvd|lane|ln|drive|dr|place|pl|terrace|court|ct|way|parkway)\b",
                    re.IGNORECASE)
DATE_ONLY = re.compile(r"\b(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"
                       r"(?![ T]\d\d:)")
SYSTEM_DATE_COLUMNS = re.compile(r"(_at|_on|_from|_until)$")
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
KEYED_HASH = re.compile(r"[0-9a-f]{64}")
# Public facts about city buildings, not about anyone: an enrollment centre's name and street
# address are printed on the booking page. They are still searched for immigration terms.
PUBLIC_PLACE_COLUMNS = frozenset({("sites", "name"), ("sites", "address")})
IMMIGRATION_TERM = "immigration_term"


@dataclass
class ColumnReport:
    table: str
    column: str
    values: int = 0
    nulls: int = 0
    sealed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def classification(self) -> str:
        filled = self.values - self.nulls
        if filled == 0:
            return "empty"
        if self.sealed == filled:
            return "ciphertext (AES-256-GCM)"
        return self.kinds.most_common(1)[0][0] if self.kinds else "plain"


@dataclass
class Finding:
    kind: str
    table: str
    column: str
    sample: str


@dataclass
class DrillReport:
    source: str
    tables: int = 0
    rows: int = 0
    columns: list[ColumnReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    lawful: dict[str, int] | None = None

    @property
    def clean(self) -> bool:
        return not self.findings and not self.forbidden

    def counts(self) -> Counter[str]:
        return Counter(f.kind for f in self.findings)

    def render(self) -> str:
        out = [f"Subpoena drill on {self.source}: {self.tables} tables, {self.rows} rows, "
               "read without keys.", "", "Plaintext personal values found:"]
        counts = self.counts()
        for kind in ("name", "date_of_birth", "address", "photo", "canary"):
            out.append(f"  {kind.replace('_', ' '):<14} {counts.get(kind, 0)}")
        personal = [f for f in self.findings if f.kind != IMMIGRATION_TERM]
        for finding in personal[:20]:
            out.append(f"    {finding.kind} in {finding.table}.{finding.column}: "
                       f"{finding.sample[:40]!r}")
        terms = Counter(f"{f.table}.{f.column}" for f in self.findings
                        if f.kind == IMMIGRATION_TERM)
        out += ["", "Immigration terms in stored values that are not ciphertext or keyed hashes "
                f"({', '.join(immigration_terms().languages)}):"]
        out.append("  none" if not terms else "  FOUND (where, never the value): " + ", ".join(
            f"{where} ({n} value{'s' if n > 1 else ''})" for where, n in sorted(terms.items())))
        sealed = [c for c in self.columns if c.classification.startswith("ciphertext")]
        out += ["", f"Columns that are ciphertext ({len(sealed)}):"]
        out += [f"  {c.table}.{c.column} ({c.values - c.nulls} values)" for c in sealed]
        others = Counter(c.classification for c in self.columns
                         if not c.classification.startswith("ciphertext"))
        out += ["", "Other columns: " + ", ".join(f"{n} {k}" for k, n in sorted(others.items()))]
        out += ["", "Forbidden fields (immigration status and its proxies):"]
        out.append("  none: no column and no JSON key can hold them" if not self.forbidden
                   else "  FOUND: " + ", ".join(self.forbidden))
        if self.lawful is not None:
            out += ["", "With the keys (what a lawful order could obtain):"]
            out += [f"  {k.replace('_', ' '):<34} {v}" for k, v in self.lawful.items()]
        out += ["", "Result: " + ("clean" if self.clean else
                                  "IMMIGRATION TERMS IN THE CLEAR" if not personal
                                  and not self.forbidden and terms
                                  else "PERSONAL DATA IN THE CLEAR")]
        return "\n".join(out)


# --- reading dumps --------------------------------------------------------------------------


Table = tuple[str, list[str], Iterable[tuple[Any, ...]]]


def _sqlite_tables(path: Path) -> Iterator[Table]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for name in names:
            cursor = connection.execute(f'SELECT * FROM "{name}"')  # noqa: S608 - names from schema
            columns = [d[0] for d in cursor.description]
            yield name, columns, cursor
    finally:
        connection.close()


_COPY = re.compile(r'^COPY (?:[\w"]+\.)?"?(\w+)"? \((.*)\) FROM stdin;$')


def _pg_value(text: str) -> Any:
    if text == r"\N":
        return None
    if text.startswith("\\\\x"):
        return bytes.fromhex(text[3:])
    return (text.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")
            .replace("\\\\", "\\"))


def _pg_dump_tables(path: Path) -> Iterator[Table]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _COPY.match(line.rstrip("\n"))
            if not match:
                continue
            name = match.group(1)
            columns = [c.strip().strip('"') for c in match.group(2).split(",")]
            rows = []
            for row in handle:
                if row.rstrip("\n") == "\\.":
                    break
                rows.append(tuple(_pg_value(v) for v in row.rstrip("\n").split("\t")))
            yield name, columns, rows


def read_dump(path: Path) -> Iterator[Table]:
    with path.open("rb") as handle:
        header = handle.read(16)
    if header.startswith(b"SQLite format 3"):
        return _sqlite_tables(path)
    return _pg_dump_tables(path)


def dump_database(url: str, folder: Path) -> Path:
    """A copy of the configured database, as an adversary holding it would have it."""
    parsed = make_url(url)
    folder.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        target = folder / "dump.sqlite"
        source = sqlite3.connect(parsed.database or "")
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # includes what is still in the write-ahead log
        finally:
            copy.close()
            source.close()
        return target
    target = folder / "dump.sql"
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is needed to dump PostgreSQL (Debian: postgresql-client)")
    env_password = {"PGPASSWORD": parsed.password} if parsed.password else {}
    with target.open("wb") as out:
        subprocess.run([pg_dump, "--no-owner", "-h", parsed.host or "127.0.0.1",  # noqa: S603
                        "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres",
                        parsed.database or ""], check=True, stdout=out,
                       env={**os.environ, **env_password})
    return target


# --- analysis -------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary"
    if isinstance(value, bool | int | float):
        return "number"
    text = str(value)
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return "keyed hash or blind index"
    if re.fullmatch(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", text):
        return "identifier"
    if re.fullmatch(r"\d{4}-\d\d-\d\d([ T][\d:.+]+)?", text):
        return "date or time"
    if text.startswith(("{", "[")):
        return "JSON (codes)"
    return "code or label"


def _json_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _json_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _json_keys(inner)


def _json_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document, keys and values."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _json_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _json_strings(inner)
    elif isinstance(value, str):
        yield value


def analyse(tables: Iterable[Table], *, source: str,
            canaries: Iterable[str] = ()) -> DrillReport:
    report = DrillReport(source=source)
    canary_list = [c.strip() for c in canaries if len(c.strip()) >= 4]
    canary_bytes = [(c, c.encode()) for c in canary_list]
    refused = forbidden_names()
    for name, columns, rows in tables:
        report.tables += 1
        stats = [ColumnReport(name, c) for c in columns]
        report.forbidden += [f"column {name}.{c}" for c in columns if canonical(c) in refused]
        for row in rows:
            report.rows += 1
            for stat, value in zip(stats, row, strict=False):
                stat.values += 1
                if value is None:
                    stat.nulls += 1
                    continue
                _inspect(report, stat, value, canary_bytes, refused)
        report.columns += stats
    return report


def _inspect(report: DrillReport, stat: ColumnReport, value: Any,
             canaries: list[tuple[str, bytes]], refused: frozenset[str]) -> None:
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    if isinstance(value, bytes):
        if len(value) >= MIN_SEALED and value[0] == SEALED:
            stat.sealed += 1
            return
        if value.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            report.findings.append(Finding("photo", stat.table, stat.column, "image bytes"))
        for canary, encoded in canaries:
            if encoded in value:
                report.findings.append(Finding("canary", stat.table, stat.column, canary))
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            # Random bytes (wrapped keys, ciphertext of another format): words found in them
            # would be noise, not names. Plaintext stored as bytes is still searched below.
            stat.kinds["binary (high entropy)"] += 1
            return
        stat.kinds["binary"] += 1
        raw = value
    else:
        text = str(value)
        raw = text.encode()
        stat.kinds[_kind(value)] += 1
    for canary, encoded in canaries:
        if encoded in raw or canary.lower() in text.lower():
            report.findings.append(Finding("canary", stat.table, stat.column, canary))
    lowered_words = {w.lower() for w in WORD.findall(text)}
    place = (stat.table, stat.column) in PUBLIC_PLACE_COLUMNS
    if lowered_words & COMMON_NAMES and not place and \
            not _kind(text).startswith(("keyed", "identifier")):
        report.findings.append(Finding("name", stat.table, stat.column, text))
    if STREET.search(text) and not place:
        report.findings.append(Finding("address", stat.table, stat.column, text))
    if not SYSTEM_DATE_COLUMNS.search(stat.column) and DATE_ONLY.search(text):
        report.findings.append(Finding("date_of_birth", stat.table, stat.column, text))
    document: Any = None
    if text.startswith(("{", "[")):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        else:
            for key in _json_keys(document):
                if canonical(key) in refused:
                    report.forbidden.append(f"JSON key {key!r} in {stat.table}.{stat.column}")
    strings = list(_json_strings(document)) if document is not None else [text]
    if any(not KEYED_HASH.fullmatch(s) and holds_immigration_term(s) for s in strings):
        # Where, never what: the sample is left empty so no report repeats the value.
        report.findings.append(Finding(IMMIGRATION_TERM, stat.table, stat.column, ""))


def lawful_reach(session: Session, vault: Vault) -> dict[str, int]:
    """With the keyring and the live database: what each resident's record would yield."""
    from privacy.errors import DataKeyShredded, DecryptionFailed

    reach: Counter[str] = Counter()
    for resident_id, first_name, address, care_of, contact, photo in \
            repository.resident_field_presence(session):
        reach["residents_on_record"] += 1
        try:
            key = vault.open_data_key(session, resident_id)
            key.record("residents", resident_id).open("first_name", first_name)
        except (DataKeyShredded, DecryptionFailed):
            reach["residents_shredded_unreadable"] += 1
            continue
        reach["residents_readable"] += 1
        reach["names_and_dates_of_birth"] += 1
        reach["home_addresses"] += address
        reach["care_of_addresses"] += care_of
        reach["phone_numbers_or_emails"] += contact
        reach["photos"] += photo
    for appointment_id, first_name, contact in repository.appointment_field_presence(session):
        reach["appointments_on_record"] += 1
        try:
            vault.open_data_key(session, appointment_id).record(
                "appointments", appointment_id).open("first_name", first_name)
        except (DataKeyShredded, DecryptionFailed):
            reach["appointments_unreadable"] += 1
            continue
        reach["appointment_first_names"] += 1
        reach["appointment_contacts"] += contact
    reach["immigration_status_or_proxies"] = 0
    reach["document_numbers_or_images"] = 0
    return dict(reach)
