"""Anchors for the audit chain: its head, signed and published outside the database.

The hash chain shows an edit, a deletion or a reordering, but not a rewrite of the whole chain
from some entry on, nor a cut tail: whoever can write the database can recompute every hash.
So the chain's head (the last entry's sequence number and hash, and when it was signed) is
signed with the program's signing key, which the database does not hold, and published: stored
in ``audit_heads`` at a fixed interval, served at ``/.well-known/cityid/audit-head``, and
appended by ``cityid audit anchor`` to a file meant for an append-only store elsewhere. A head
is a promise that entry ``seq`` has ``hash``; ``check_anchors`` holds the chain to every such
promise. Behind the newest anchor nothing can change unnoticed; after it, up to one interval of
entries is covered by the chain alone.

The signature is made and checked by a ``HeadSigning`` passed in from above (a COSE_Sign1 with
the card signing keys, so the published JWKS checks it); this module only defines what is
signed and what a head promises.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cityid.clock import Clock
from cityid.errors import AppError, ErrorKind
from privacy import repository
from privacy.models import PublishedAuditHead

HEAD_TYPE = "cityid-audit-head"
# The COSE ``typ`` of a signed head, so neither a card credential nor a status list, signed by
# the same keys, can pass as one.
TYP = "application/cityid-audit-head+cose"
PAYLOAD_TYPE = "application/json"
MAX_LINE = 16 * 1024
LOOKUP_BATCH = 500


class AnchorInvalid(AppError):
    kind = ErrorKind.INVALID
    code = "audit_anchor_invalid"
    title = "The audit anchor is not a signed head of this chain"


class AuditHeadNotPublished(AppError):
    kind = ErrorKind.NOT_FOUND
    code = "audit_head_not_published"
    title = "No audit chain head has been published yet"


class ChainContradictsHead(AppError):
    kind = ErrorKind.CONFLICT
    code = "audit_chain_contradicts_head"
    title = ("The audit chain no longer holds the head published last; it was rewritten or cut, "
             "and no new head is signed over it")


class HeadSigning(Protocol):
    def sign(self, payload: bytes) -> bytes:
        """A signed document holding ``payload``."""
        ...

    def open(self, document: bytes) -> bytes:
        """The payload of a document signed by a published key; AnchorInvalid otherwise."""
        ...


@dataclass(frozen=True)
class SignedHead:
    seq: int
    hash: str
    published_at: datetime
    issuer: str
    document: bytes

    def public(self) -> dict[str, Any]:
        """The published form: the signed document, and beside it what it says, for reading."""
        return {"type": HEAD_TYPE, "issuer": self.issuer, "seq": self.seq, "hash": self.hash,
                "published_at": _iso(self.published_at),
                "signed": base64.urlsafe_b64encode(self.document).decode().rstrip("=")}

    def line(self) -> str:
        return json.dumps(self.public(), sort_keys=True, separators=(",", ":"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def head_payload(*, issuer: str, seq: int, hash: str, published_at: datetime) -> bytes:
    return json.dumps({"type": HEAD_TYPE, "issuer": issuer, "seq": seq, "hash": hash,
                       "published_at": _iso(published_at)},
                      sort_keys=True, separators=(",", ":")).encode()


def open_head(document: bytes, signing: HeadSigning) -> SignedHead:
    """A verified head from a signed document: only what the signature covers is read."""
    try:
        body = json.loads(signing.open(document))
    except (ValueError, UnicodeDecodeError):
        raise AnchorInvalid("the signed head is not JSON") from None
    if not isinstance(body, dict) or body.get("type") != HEAD_TYPE:
        raise AnchorInvalid("the signed document is not an audit chain head")
    seq, digest, issuer, at = (body.get(k) for k in ("seq", "hash", "issuer", "published_at"))
    if (not isinstance(seq, int) or isinstance(seq, bool) or seq < 0
            or not isinstance(digest, str) or len(digest) != 64
            or not isinstance(issuer, str) or not isinstance(at, str)):
        raise AnchorInvalid("the signed head lacks its sequence number, hash, issuer or time")
    try:
        published_at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise AnchorInvalid("the signed head's time is malformed") from None
    if published_at.tzinfo is None:
        raise AnchorInvalid("the signed head's time has no zone")
    return SignedHead(seq, digest, published_at, issuer, document)


def parse_anchor(line: str, signing: HeadSigning) -> SignedHead:
    """One line of an anchors file (the published form), verified."""
    if len(line) > MAX_LINE:
        raise AnchorInvalid("the line is too long to be an anchor")
    try:
        public = json.loads(line)
    except ValueError:
        raise AnchorInvalid("the line is not JSON") from None
    signed = public.get("signed") if isinstance(public, dict) else None
    if not isinstance(signed, str):
        raise AnchorInvalid("the line carries no signed head")
    try:
        document = base64.urlsafe_b64decode(signed + "=" * (-len(signed) % 4))
    except (binascii.Error, ValueError):
        raise AnchorInvalid("the signed head is not base64url") from None
    head = open_head(document, signing)
    if (public.get("seq"), public.get("hash")) != (head.seq, head.hash):
        raise AnchorInvalid("the head written beside the signature differs from the signed one")
    return head


@dataclass(frozen=True)
class HeadPublisher:
    """Signs the chain's head and stores it in ``audit_heads``, at most every ``every``."""

    signing: HeadSigning
    issuer: str
    every: timedelta
    clock: Clock

    def publish(self, session: Session, *, force: bool) -> SignedHead | None:
        """Publish the current head if it moved since the last published one and ``every`` has
        passed (or, with ``force``, if it moved at all), and return the newest published head;
        None when nothing was due. Under the chain head's lock, so the head published is the
        chain's and two processes never publish the same interval twice."""
        latest = repository.latest_published_head(session)
        now = self.clock.now()
        if not force and latest is not None and (
                now - latest.published_at < self.every
                or latest.seq == getattr(repository.get_audit_head(session), "seq", 0)):
            return None  # the common case, without taking the head's lock
        head = repository.lock_audit_head(session, wait=force)
        if head is None:
            return None  # another process is chaining or publishing
        latest = repository.latest_published_head(session)
        if latest is not None and (latest.seq, latest.hash) == (head.seq, head.hash):
            return _signed(latest, self.issuer) if force else None
        if latest is not None and latest.seq > 0 and (
                repository.audit_hashes(session, [latest.seq]).get(latest.seq) != latest.hash):
            # Signing now would vouch for the rewritten chain; the last head stays the newest.
            raise ChainContradictsHead()
        if not force and latest is not None and now - latest.published_at < self.every:
            return None
        document = self.signing.sign(head_payload(issuer=self.issuer, seq=head.seq,
                                                  hash=head.hash, published_at=now))
        row = PublishedAuditHead(seq=head.seq, hash=head.hash, published_at=now,
                                 document=document)
        repository.add_published_head(session, row)
        return _signed(row, self.issuer)


def _signed(row: PublishedAuditHead, issuer: str) -> SignedHead:
    return SignedHead(row.seq, row.hash, row.published_at, issuer, row.document)


def latest_head(session: Session, signing: HeadSigning) -> SignedHead:
    """The newest published head, as served at ``/.well-known/cityid/audit-head``."""
    row = repository.latest_published_head(session)
    if row is None:
        raise AuditHeadNotPublished()
    return open_head(row.document, signing)


# --- holding the chain to its anchors -----------------------------------------------------------


@dataclass(frozen=True)
class AnchorReport:
    ok: bool
    checked: int
    problem: str | None = None
    newest: SignedHead | None = None


Labelled = tuple[str, Callable[[], SignedHead]]


def anchors_in_file(lines: Iterable[str], signing: HeadSigning) -> Iterator[Labelled]:
    """The anchors of a JSON lines file, each labelled by its line, verified when read."""
    for number, text in enumerate(lines, start=1):
        if text.strip():
            yield f"the anchor on line {number}", partial(parse_anchor, text, signing)


def stored_anchors(session: Session, signing: HeadSigning) -> Iterator[Labelled]:
    for row in repository.iter_published_heads(session):
        def opened(row: PublishedAuditHead = row) -> SignedHead:
            head = open_head(row.document, signing)
            if (head.seq, head.hash) != (row.seq, row.hash):
                raise AnchorInvalid("its row differs from what it signed")
            return head
        yield f"the head published in the database as number {row.id}", opened


def check_anchors(session: Session, anchors: Iterable[Labelled], *,
                  chain_end: int) -> AnchorReport:
    """Hold the chain to each anchor, in order: the chain must reach the anchor's entry and
    that entry must have the anchor's hash. Names the first anchor that fails."""
    checked, newest = 0, None
    pending: list[tuple[str, SignedHead]] = []

    def settle(batch: Sequence[tuple[str, SignedHead]]) -> str | None:
        hashes = repository.audit_hashes(session, [h.seq for _, h in batch if h.seq > 0])
        for label, head in batch:
            when = _iso(head.published_at)
            if head.seq > chain_end:
                return (f"{label} (entry {head.seq}, published {when}) lies past the chain's "
                        f"end at entry {chain_end}: the chain was cut")
            actual = repository.GENESIS_HASH if head.seq == 0 else hashes.get(head.seq)
            if actual != head.hash:
                return (f"{label} (entry {head.seq}, published {when}) does not match the "
                        f"chain's entry {head.seq}: the chain was rewritten behind it")
        return None

    for label, read in anchors:
        try:
            head = read()
        except AnchorInvalid as exc:
            problem = settle(pending)
            return AnchorReport(False, checked, problem or f"{label} is not valid: {exc.detail}")
        pending.append((label, head))
        if len(pending) >= LOOKUP_BATCH:
            if problem := settle(pending):
                return AnchorReport(False, checked, problem)
            checked += len(pending)
            pending.clear()
        if newest is None or head.seq >= newest.seq:
            newest = head
    if problem := settle(pending):
        return AnchorReport(False, checked, problem)
    return AnchorReport(True, checked + len(pending), newest=newest)
